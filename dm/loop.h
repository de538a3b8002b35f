/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the device model's event loop (epoll), in the spirit of bhyve's
 * mevent: persistent fd events, deferred deletion, and loop_post() as the only
 * entry point that other threads may call.  Timers are not here: they run on
 * the virtual clock (clock.h), which arms one timerfd through the loop.
 */
#ifndef DM_LOOP_H
#define DM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct dm_loop;
struct loop_ev;

#define LOOP_IN 0x1
#define LOOP_OUT 0x4
#define LOOP_ERR 0x8
#define LOOP_HUP 0x10

typedef void (*loop_fd_cb)(int fd, unsigned events, void *arg);

int loop_create(struct dm_loop **out);
void loop_destroy(struct dm_loop *l);

/* Watch fd for `events` (LOOP_IN/LOOP_OUT); returns NULL on failure. */
struct loop_ev *loop_add_fd(struct dm_loop *l, int fd, unsigned events, loop_fd_cb cb, void *arg);
/* Change the watched events of an fd event. */
int loop_set_events(struct loop_ev *ev, unsigned events);
/* Stop watching; the callback is never called again; freed after this iteration. */
void loop_del(struct loop_ev *ev);

/* Thread-safe: run fn(arg) on the loop thread soon.  Returns 0 or -errno. */
int loop_post(struct dm_loop *l, void (*fn)(void *arg), void *arg);

/*
 * Is a posted call waiting (any thread; no system call)?  For code that
 * spins inside a loop callback, so that it can give way.
 */
bool loop_has_posts(struct dm_loop *l);

/*
 * Run one iteration: wait up to timeout_ms (-1 forever) and dispatch.
 * Returns the number of events handled or -errno.
 */
int loop_run_once(struct dm_loop *l, int timeout_ms);
/* Run until loop_quit(). */
int loop_run(struct dm_loop *l);
/* Call fn(arg) after every loop_run_once() iteration that did work (one hook). */
void loop_set_after(struct dm_loop *l, void (*fn)(void *arg), void *arg);
/* Make loop_run() return after the current iteration (thread-safe). */
void loop_quit(struct dm_loop *l);
bool loop_quitting(const struct dm_loop *l);

#endif /* DM_LOOP_H */
