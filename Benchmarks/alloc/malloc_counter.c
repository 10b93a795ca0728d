#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>
static atomic_long count;
static void *(*real_malloc)(size_t);
static void report(void) { char b[64]; int k = snprintf(b, sizeof b, "MALLOC_COUNT %ld\n", (long)atomic_load(&count)); write(2, b, k); }
static void on_usr2(int s) { (void)s; report(); }
__attribute__((constructor)) static void init(void) { atexit(report); signal(SIGUSR2, on_usr2); }
void *malloc(size_t n) {
  if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
  atomic_fetch_add(&count, 1);
  return real_malloc(n);
}
