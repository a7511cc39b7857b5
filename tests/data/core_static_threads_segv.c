// SPDX-License-Identifier: MIT
// The program behind core_static_threads_segv.notes: two idle threads, then a write to
// address 0x10 from crash(). Built with `gcc -O1 -static -pthread -o crasher`, run as
// `./crasher a-arg "b arg"` with core_pattern "core"; the core was cut at the end of its
// note segment (core_notes_end).
#include <pthread.h>
#include <unistd.h>

static void* idle(void* arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

__attribute__((noinline)) static void crash(volatile int* p)
{
    *p = 42;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; ++i)
        pthread_create(&t[i], 0, idle, 0);
    usleep(100000);
    crash((volatile int*)0x10);
    return 0;
}
