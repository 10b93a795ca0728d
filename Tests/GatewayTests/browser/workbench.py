"""Driving the workbench page: navigation, waits, and reading what it shows."""

import json
import urllib.request

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

GENERATION_TIMEOUT = 180


class Workbench:
    def __init__(self, driver, server):
        self.driver = driver
        self.server = server

    def open(self, page: str = "playground"):
        self.driver.get(f"{self.server.base}/#/{page}")
        self.wait_for(f"#page-{page}")
        return self

    def go(self, page: str):
        self.driver.execute_script("location.hash = arguments[0]", f"#/{page}")
        self.wait_for(f"#page-{page}")

    def wait(self, condition, timeout: float = 30, message: str = ""):
        # The page re-renders lists after each change: an element found a moment ago may be gone.
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(condition, message)

    def wait_for(self, css: str, timeout: float = 30):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f"{css} never became visible")

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def click(self, element_or_css):
        """Clicks an element after scrolling it to the middle (the sticky header covers the top)."""
        element = self.find(element_or_css) if isinstance(element_or_css, str) else element_or_css
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()
        return element

    def type(self, css: str, text: str):
        element = self.find(css)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.clear()
        element.send_keys(text)
        return element

    def choose(self, element_or_css, value: str):
        element = self.find(element_or_css) if isinstance(element_or_css, str) else element_or_css
        self.wait(lambda d: any(o.get_attribute("value") == value for o in Select(element).options), 30,
                  f"no option {value} in the select")
        Select(element).select_by_value(value)

    def errors(self) -> list[str]:
        return [e.text for e in self.find_all("#messages .message.error")]

    def assert_no_errors(self):
        assert self.errors() == [], f"the page shows errors: {self.errors()}"

    def api(self, path: str, body=None, key: str | None = None):
        """A direct call to the server (to check what the UI stored)."""
        request = urllib.request.Request(self.server.base + path, method="POST" if body is not None else "GET",
                                         data=json.dumps(body).encode() if body is not None else None)
        request.add_header("Content-Type", "application/json")
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.loads(r.read())

    def background(self, element) -> str:
        return self.driver.execute_script("return getComputedStyle(arguments[0]).backgroundColor", element)
