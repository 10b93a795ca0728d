import Testing
@testable import Store

@Suite struct RedactorTests {
    let r = Redactor()

    @Test func masksEmails() {
        #expect(r.redact("write to jane.doe+x@mail.example.com today") == "write to [EMAIL] today")
    }

    @Test func masksLuhnValidCardsOnly() {
        #expect(r.redact("card 4111 1111 1111 1111 ok") == "card [CARD] ok")
        #expect(r.redact("card 4111-1111-1111-1111") == "card [CARD]")
        #expect(Redactor.isCardNumber("4111111111111111"))
        #expect(!Redactor.isCardNumber("4111111111111112"))
        #expect(!r.redact("order 4111111111111112").contains("[CARD]"))
    }

    @Test func masksValidIBANsOnly() {
        #expect(r.redact("pay GB82 WEST 1234 5698 7654 32 now") == "pay [IBAN] now")
        #expect(r.redact("DE89370400440532013000") == "[IBAN]")
        #expect(!Redactor.isIBAN("GB82WEST12345698765433"))
    }

    @Test func masksPhoneNumbers() {
        #expect(r.redact("call +1 (555) 123-4567 or 020 7946 0958") == "call [PHONE] or [PHONE]")
    }

    @Test func leavesOrdinaryTextAlone() {
        let text = "In 2024 we sold 1500 units at 3.50 each; see section 4.2, version 1.10.0, host 192.168.100.200, "
            + "released 2026-11-22."
        #expect(r.redact(text) == text)
    }
}
