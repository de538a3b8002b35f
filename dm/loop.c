// SPDX-License-Identifier: MIT
/*
 * loop.c - epoll event loop with persistent fd events, deferred deletion and
 * a thread-safe post queue woken through an eventfd.
 */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64
#define LOOP_MAX_POSTS_PER_RUN 1024

struct loop_ev {
	struct dm_loop *loop;
	int fd;
	unsigned events;
	loop_fd_cb cb;
	void *arg;
	bool deleted;
	struct loop_ev *next; /* all events, or the graveyard once deleted */
};

struct loop_post {
	void (*fn)(void *arg);
	void *arg;
	struct loop_post *next;
};

struct dm_loop {
	int epfd;
	int wakefd;
	struct loop_ev *events;
	struct loop_ev *graveyard;
	pthread_mutex_t post_lock;
	struct loop_post *posts, **posts_tail;
	bool posts_pending; /* posts is not empty (atomic, read without the lock) */
	volatile bool quit;
	void (*after)(void *arg); /* after an iteration that did work */
	void *after_arg;
};

static uint32_t to_epoll(unsigned ev)
{
	return (ev & LOOP_IN ? EPOLLIN : 0) | (ev & LOOP_OUT ? EPOLLOUT : 0);
}

static unsigned from_epoll(uint32_t ev)
{
	return (ev & EPOLLIN ? LOOP_IN : 0) | (ev & EPOLLOUT ? LOOP_OUT : 0) |
	       (ev & EPOLLERR ? LOOP_ERR : 0) | (ev & (EPOLLHUP | EPOLLRDHUP) ? LOOP_HUP : 0);
}

int loop_create(struct dm_loop **out)
{
	struct dm_loop *l = calloc(1, sizeof(*l));
	struct epoll_event ee = { .events = EPOLLIN, .data.ptr = NULL };
	int err;

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		err = -errno;
		goto err_free;
	}
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wakefd < 0) {
		err = -errno;
		goto err_epoll;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ee) < 0) {
		err = -errno;
		goto err_wake;
	}
	pthread_mutex_init(&l->post_lock, NULL);
	l->posts_tail = &l->posts;
	*out = l;
	return 0;
err_wake:
	close(l->wakefd);
err_epoll:
	close(l->epfd);
err_free:
	free(l);
	return err;
}

static void loop_reap(struct dm_loop *l)
{
	while (l->graveyard) {
		struct loop_ev *ev = l->graveyard;

		l->graveyard = ev->next;
		free(ev);
	}
}

void loop_destroy(struct dm_loop *l)
{
	if (!l)
		return;
	while (l->events) {
		struct loop_ev *ev = l->events;

		l->events = ev->next;
		free(ev);
	}
	loop_reap(l);
	while (l->posts) {
		struct loop_post *p = l->posts;

		l->posts = p->next;
		free(p);
	}
	close(l->wakefd);
	close(l->epfd);
	pthread_mutex_destroy(&l->post_lock);
	free(l);
}

struct loop_ev *loop_add_fd(struct dm_loop *l, int fd, unsigned events, loop_fd_cb cb, void *arg)
{
	struct loop_ev *ev = calloc(1, sizeof(*ev));
	struct epoll_event ee;

	if (!ev)
		return NULL;
	*ev = (struct loop_ev){ .loop = l, .fd = fd, .events = events, .cb = cb, .arg = arg };
	ee.events = to_epoll(events);
	ee.data.ptr = ev;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ee) < 0) {
		free(ev);
		return NULL;
	}
	ev->next = l->events;
	l->events = ev;
	return ev;
}

int loop_set_events(struct loop_ev *ev, unsigned events)
{
	struct epoll_event ee = { .events = to_epoll(events), .data.ptr = ev };

	if (ev->events == events)
		return 0;
	if (epoll_ctl(ev->loop->epfd, EPOLL_CTL_MOD, ev->fd, &ee) < 0)
		return -errno;
	ev->events = events;
	return 0;
}

void loop_del(struct loop_ev *ev)
{
	struct dm_loop *l;
	struct loop_ev **pp;

	if (!ev || ev->deleted)
		return;
	l = ev->loop;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
	ev->deleted = true;
	for (pp = &l->events; *pp; pp = &(*pp)->next) {
		if (*pp == ev) {
			*pp = ev->next;
			break;
		}
	}
	ev->next = l->graveyard;
	l->graveyard = ev;
}

int loop_post(struct dm_loop *l, void (*fn)(void *arg), void *arg)
{
	struct loop_post *p = malloc(sizeof(*p));
	uint64_t one = 1;

	if (!p)
		return -ENOMEM;
	p->fn = fn;
	p->arg = arg;
	p->next = NULL;
	pthread_mutex_lock(&l->post_lock);
	*l->posts_tail = p;
	l->posts_tail = &p->next;
	__atomic_store_n(&l->posts_pending, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&l->post_lock);
	if (write(l->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

bool loop_has_posts(struct dm_loop *l)
{
	return __atomic_load_n(&l->posts_pending, __ATOMIC_ACQUIRE);
}

static int loop_run_posts(struct dm_loop *l)
{
	struct loop_post *list;
	uint64_t v;
	int n = 0;

	if (read(l->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	pthread_mutex_lock(&l->post_lock);
	list = l->posts;
	l->posts = NULL;
	l->posts_tail = &l->posts;
	__atomic_store_n(&l->posts_pending, false, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&l->post_lock);
	while (list) {
		struct loop_post *p = list;

		list = p->next;
		p->fn(p->arg);
		free(p);
		n++;
	}
	return n;
}

int loop_run_once(struct dm_loop *l, int timeout_ms)
{
	struct epoll_event ee[LOOP_MAX_EVENTS];
	int n, i, handled = 0;

	n = epoll_wait(l->epfd, ee, LOOP_MAX_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct loop_ev *ev = ee[i].data.ptr;

		if (!ev) {
			int r = loop_run_posts(l);

			handled += r > 0 ? r : 0;
			continue;
		}
		/* An earlier callback in this batch may have deleted it. */
		if (ev->deleted)
			continue;
		ev->cb(ev->fd, from_epoll(ee[i].events), ev->arg);
		handled++;
	}
	loop_reap(l);
	if (handled && l->after)
		l->after(l->after_arg);
	return handled;
}

void loop_set_after(struct dm_loop *l, void (*fn)(void *arg), void *arg)
{
	l->after = fn;
	l->after_arg = arg;
}

int loop_run(struct dm_loop *l)
{
	while (!l->quit) {
		int r = loop_run_once(l, -1);

		if (r < 0)
			return r;
	}
	return 0;
}

static void loop_quit_cb(void *arg)
{
	((struct dm_loop *)arg)->quit = true;
}

void loop_quit(struct dm_loop *l)
{
	/* Through the post queue, so a blocked epoll_wait wakes up. */
	if (loop_post(l, loop_quit_cb, l) < 0)
		l->quit = true;
}

bool loop_quitting(const struct dm_loop *l)
{
	return l->quit;
}
