// SPDX-License-Identifier: MIT
/*
 * sdl.c - the SDL2 window (see sdl.h).
 *
 * What it does: shows the console surface scaled into a resizable window,
 * grabs keyboard and pointer on Ctrl+Alt, toggles full screen on
 * Ctrl+Alt+F, turns SDL scancodes into Linux keycodes and closing the window
 * into an ACPI power button press.  What it does not: text consoles, scaling
 * hotkeys, the guest cursor sprite, OpenGL (-disable-opengl is accepted and
 * meaningless: SDL picks its renderer itself).
 */
#define _GNU_SOURCE
#include "sdl.h"

#include <errno.h>
#include <linux/input-event-codes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "log.h"

/*
 * SDL scancodes are USB HID keyboard usages (HID Usage Tables, section 10,
 * page 0x07); the right column is the Linux key the same PC key produces.
 */
static const uint16_t hid_to_key[] = {
	[0x04] = KEY_A,
	[0x05] = KEY_B,
	[0x06] = KEY_C,
	[0x07] = KEY_D,
	[0x08] = KEY_E,
	[0x09] = KEY_F,
	[0x0a] = KEY_G,
	[0x0b] = KEY_H,
	[0x0c] = KEY_I,
	[0x0d] = KEY_J,
	[0x0e] = KEY_K,
	[0x0f] = KEY_L,
	[0x10] = KEY_M,
	[0x11] = KEY_N,
	[0x12] = KEY_O,
	[0x13] = KEY_P,
	[0x14] = KEY_Q,
	[0x15] = KEY_R,
	[0x16] = KEY_S,
	[0x17] = KEY_T,
	[0x18] = KEY_U,
	[0x19] = KEY_V,
	[0x1a] = KEY_W,
	[0x1b] = KEY_X,
	[0x1c] = KEY_Y,
	[0x1d] = KEY_Z,
	[0x1e] = KEY_1,
	[0x1f] = KEY_2,
	[0x20] = KEY_3,
	[0x21] = KEY_4,
	[0x22] = KEY_5,
	[0x23] = KEY_6,
	[0x24] = KEY_7,
	[0x25] = KEY_8,
	[0x26] = KEY_9,
	[0x27] = KEY_0,
	[0x28] = KEY_ENTER,
	[0x29] = KEY_ESC,
	[0x2a] = KEY_BACKSPACE,
	[0x2b] = KEY_TAB,
	[0x2c] = KEY_SPACE,
	[0x2d] = KEY_MINUS,
	[0x2e] = KEY_EQUAL,
	[0x2f] = KEY_LEFTBRACE,
	[0x30] = KEY_RIGHTBRACE,
	[0x31] = KEY_BACKSLASH,
	[0x32] = KEY_BACKSLASH, /* Non-US # sits where US \ is (same PC scancode 0x2b) */
	[0x33] = KEY_SEMICOLON,
	[0x34] = KEY_APOSTROPHE,
	[0x35] = KEY_GRAVE,
	[0x36] = KEY_COMMA,
	[0x37] = KEY_DOT,
	[0x38] = KEY_SLASH,
	[0x39] = KEY_CAPSLOCK,
	[0x3a] = KEY_F1,
	[0x3b] = KEY_F2,
	[0x3c] = KEY_F3,
	[0x3d] = KEY_F4,
	[0x3e] = KEY_F5,
	[0x3f] = KEY_F6,
	[0x40] = KEY_F7,
	[0x41] = KEY_F8,
	[0x42] = KEY_F9,
	[0x43] = KEY_F10,
	[0x44] = KEY_F11,
	[0x45] = KEY_F12,
	[0x46] = KEY_SYSRQ, /* Print Screen */
	[0x47] = KEY_SCROLLLOCK,
	[0x48] = KEY_PAUSE,
	[0x49] = KEY_INSERT,
	[0x4a] = KEY_HOME,
	[0x4b] = KEY_PAGEUP,
	[0x4c] = KEY_DELETE,
	[0x4d] = KEY_END,
	[0x4e] = KEY_PAGEDOWN,
	[0x4f] = KEY_RIGHT,
	[0x50] = KEY_LEFT,
	[0x51] = KEY_DOWN,
	[0x52] = KEY_UP,
	[0x53] = KEY_NUMLOCK,
	[0x54] = KEY_KPSLASH,
	[0x55] = KEY_KPASTERISK,
	[0x56] = KEY_KPMINUS,
	[0x57] = KEY_KPPLUS,
	[0x58] = KEY_KPENTER,
	[0x59] = KEY_KP1,
	[0x5a] = KEY_KP2,
	[0x5b] = KEY_KP3,
	[0x5c] = KEY_KP4,
	[0x5d] = KEY_KP5,
	[0x5e] = KEY_KP6,
	[0x5f] = KEY_KP7,
	[0x60] = KEY_KP8,
	[0x61] = KEY_KP9,
	[0x62] = KEY_KP0,
	[0x63] = KEY_KPDOT,
	[0x64] = KEY_102ND,   /* the extra key left of Z on ISO keyboards */
	[0x65] = KEY_COMPOSE, /* Application (menu) key */
	[0x66] = KEY_POWER,
	[0x67] = KEY_KPEQUAL,
	[0x68] = KEY_F13,
	[0x69] = KEY_F14,
	[0x6a] = KEY_F15,
	[0x6b] = KEY_F16,
	[0x6c] = KEY_F17,
	[0x6d] = KEY_F18,
	[0x6e] = KEY_F19,
	[0x6f] = KEY_F20,
	[0x70] = KEY_F21,
	[0x71] = KEY_F22,
	[0x72] = KEY_F23,
	[0x73] = KEY_F24,
	[0x75] = KEY_HELP,
	[0x76] = KEY_MENU,
	[0x78] = KEY_STOP,
	[0x79] = KEY_AGAIN,
	[0x7a] = KEY_UNDO,
	[0x7b] = KEY_CUT,
	[0x7c] = KEY_COPY,
	[0x7d] = KEY_PASTE,
	[0x7e] = KEY_FIND,
	[0x7f] = KEY_MUTE,
	[0x80] = KEY_VOLUMEUP,
	[0x81] = KEY_VOLUMEDOWN,
	[0x85] = KEY_KPCOMMA,
	[0x87] = KEY_RO,	       /* International1 */
	[0x88] = KEY_KATAKANAHIRAGANA, /* International2 */
	[0x89] = KEY_YEN,	       /* International3 */
	[0x8a] = KEY_HENKAN,	       /* International4 */
	[0x8b] = KEY_MUHENKAN,	       /* International5 */
	[0x8c] = KEY_KPJPCOMMA,	       /* International6 */
	[0x90] = KEY_HANGEUL,	       /* LANG1 */
	[0x91] = KEY_HANJA,	       /* LANG2 */
	[0x92] = KEY_KATAKANA,	       /* LANG3 */
	[0x93] = KEY_HIRAGANA,	       /* LANG4 */
	[0x94] = KEY_ZENKAKUHANKAKU,   /* LANG5 */
	[0xe0] = KEY_LEFTCTRL,
	[0xe1] = KEY_LEFTSHIFT,
	[0xe2] = KEY_LEFTALT,
	[0xe3] = KEY_LEFTMETA,
	[0xe4] = KEY_RIGHTCTRL,
	[0xe5] = KEY_RIGHTSHIFT,
	[0xe6] = KEY_RIGHTALT,
	[0xe7] = KEY_RIGHTMETA,
};

unsigned sdl_scancode_to_keycode(unsigned scancode)
{
	if (scancode >= sizeof(hid_to_key) / sizeof(*hid_to_key))
		return 0;
	return hid_to_key[scancode];
}

#ifdef HVM_HAVE_SDL

#include <SDL.h>

#include "console.h"
#include "input.h"
#include "loop.h"

#define SDL_MAX_PENDING 1024 /* queued input events before new ones are dropped */
#define SDL_NKEYS 256

struct sdl {
	struct dm *dm;
	struct console *con;
	pthread_t thread;
	bool full_screen;
	char title[160];

	/* Frame handoff: written by the loop thread, read by the SDL thread, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t ready_cond;
	uint32_t *frame; /* w * h, x8r8g8b8 */
	unsigned w, h;
	bool resized;		/* texture must be recreated */
	bool have_dirty;	/* dirty box below is valid */
	int dx1, dy1, dx2, dy2; /* bounding box of what changed */
	int ready;		/* 1 once SDL is up, -errno when it failed */

	/* Cross-thread flags (atomic). */
	int wake_pending; /* a wake-up user event is queued */
	int quit;
	int abs_pointer; /* active pointer sink is absolute (loop thread's view) */
	int pending;	 /* input events queued on the loop */
	uint32_t wake_event;

	/* SDL thread only. */
	SDL_Window *win;
	SDL_Renderer *ren;
	SDL_Texture *tex;
	bool grabbed;
	bool combo_armed;     /* Ctrl+Alt went down with no other key yet */
	bool keys[SDL_NKEYS]; /* Linux keys the guest was told are down */
};

/* One SDL window per process (SDL's video state is process-global). */
static struct sdl *sdl_instance;

enum sdl_ev_kind {
	SDL_EV_KEY,
	SDL_EV_ABS,
	SDL_EV_REL,
	SDL_EV_CLOSE
};

struct sdl_event {
	struct sdl *s;
	enum sdl_ev_kind kind;
	bool down;
	unsigned keycode;
	int x, y, dz;
	unsigned buttons;
};

/* ---- loop thread: input delivery --------------------------------------- */

static void sdl_event_run(void *arg)
{
	struct sdl_event *e = arg;
	struct sdl *s = e->s;
	struct dm *dm = s->dm;

	__atomic_fetch_sub(&s->pending, 1, __ATOMIC_RELAXED);
	switch (e->kind) {
	case SDL_EV_KEY:
		input_key(dm, e->keycode, e->down);
		break;
	case SDL_EV_ABS:
		input_pointer_abs(dm, e->x, e->y, s->w ? s->w : 1, s->h ? s->h : 1, e->dz,
				  e->buttons);
		break;
	case SDL_EV_REL:
		input_pointer_rel(dm, e->x, e->y, e->dz, e->buttons);
		break;
	case SDL_EV_CLOSE:
		/* QEMU's default: closing the window is a shutdown request. */
		if (dm->powerdown) {
			dm_info("sdl", "window closed: ACPI power button");
			dm->powerdown(dm->powerdown_opaque);
		} else {
			dm_info("sdl", "window closed: no ACPI power button, powering off");
			dm_request_shutdown(dm, HVM_SHUTDOWN_POWEROFF);
		}
		break;
	}
	free(e);
}

/* SDL thread: hand an event to the loop, dropping it past the cap (never blocks). */
static void sdl_post(struct sdl *s, const struct sdl_event *tmpl)
{
	struct sdl_event *e;

	if (__atomic_add_fetch(&s->pending, 1, __ATOMIC_RELAXED) > SDL_MAX_PENDING)
		goto drop;
	e = malloc(sizeof(*e));
	if (!e)
		goto drop;
	*e = *tmpl;
	e->s = s;
	if (loop_post(s->dm->loop, sdl_event_run, e) < 0) {
		free(e);
		goto drop;
	}
	return;
drop:
	__atomic_fetch_sub(&s->pending, 1, __ATOMIC_RELAXED);
}

static void sdl_post_key(struct sdl *s, unsigned keycode, bool down)
{
	struct sdl_event e = { .kind = SDL_EV_KEY, .keycode = keycode, .down = down };

	if (!keycode || keycode >= SDL_NKEYS)
		return;
	/* No release for a key the guest never saw pressed (hotkeys, keys held over a grab). */
	if (!down && !s->keys[keycode])
		return;
	s->keys[keycode] = down;
	sdl_post(s, &e);
}

/* Release every key the guest believes is held (grab changes, focus loss). */
static void sdl_release_keys(struct sdl *s)
{
	unsigned k;

	for (k = 1; k < SDL_NKEYS; k++)
		if (s->keys[k])
			sdl_post_key(s, k, false);
}

/* ---- loop thread: console listener ------------------------------------- */

static void sdl_wake(struct sdl *s)
{
	SDL_Event ev = { .type = s->wake_event };

	if (__atomic_exchange_n(&s->wake_pending, 1, __ATOMIC_ACQ_REL))
		return;
	if (SDL_PushEvent(&ev) != 1)
		__atomic_store_n(&s->wake_pending, 0, __ATOMIC_RELEASE);
}

static void sdl_add_dirty(struct sdl *s, int x1, int y1, int x2, int y2)
{
	if (!s->have_dirty) {
		s->dx1 = x1, s->dy1 = y1, s->dx2 = x2, s->dy2 = y2;
		s->have_dirty = true;
		return;
	}
	s->dx1 = x1 < s->dx1 ? x1 : s->dx1;
	s->dy1 = y1 < s->dy1 ? y1 : s->dy1;
	s->dx2 = x2 > s->dx2 ? x2 : s->dx2;
	s->dy2 = y2 > s->dy2 ? y2 : s->dy2;
}

static void sdl_resize(void *opaque, unsigned w, unsigned h)
{
	struct sdl *s = opaque;
	uint32_t *nf = calloc((size_t)w * h, 4);

	if (!nf) {
		dm_warn("sdl", "no memory for a %ux%u frame", w, h);
		return;
	}
	pthread_mutex_lock(&s->lock);
	free(s->frame);
	s->frame = nf;
	s->w = w;
	s->h = h;
	s->resized = true;
	s->have_dirty = false;
	sdl_add_dirty(s, 0, 0, (int)w, (int)h);
	pthread_mutex_unlock(&s->lock);
	sdl_wake(s);
}

static void sdl_update(void *opaque, const pixman_region32_t *dirty)
{
	struct sdl *s = opaque;
	pixman_image_t *img = console_surface(s->con);
	const uint8_t *src = (const uint8_t *)pixman_image_get_data(img);
	int stride = pixman_image_get_stride(img), nrects, i, y;
	int sw = pixman_image_get_width(img), sh = pixman_image_get_height(img);
	const pixman_box32_t *r = pixman_region32_rectangles((pixman_region32_t *)dirty, &nrects);
	bool any = false;

	__atomic_store_n(&s->abs_pointer, input_pointer_absolute(s->dm), __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->lock);
	for (i = 0; s->frame && i < nrects; i++) {
		/* Clip to both the frame and the surface: a resize may not have reached us yet. */
		int maxw = (int)s->w < sw ? (int)s->w : sw, maxh = (int)s->h < sh ? (int)s->h : sh;
		int x1 = r[i].x1 < 0 ? 0 : r[i].x1, y1 = r[i].y1 < 0 ? 0 : r[i].y1;
		int x2 = r[i].x2 > maxw ? maxw : r[i].x2, y2 = r[i].y2 > maxh ? maxh : r[i].y2;

		if (x1 >= x2 || y1 >= y2)
			continue;
		for (y = y1; y < y2; y++)
			memcpy(s->frame + (size_t)y * s->w + (size_t)x1,
			       src + (size_t)y * (size_t)stride + (size_t)x1 * 4,
			       (size_t)(x2 - x1) * 4);
		sdl_add_dirty(s, x1, y1, x2, y2);
		any = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (any)
		sdl_wake(s);
}

static const struct console_listener_ops sdl_listener_ops = {
	.resize = sdl_resize,
	.update = sdl_update,
};

/* ---- SDL thread --------------------------------------------------------- */

static void sdl_set_title(struct sdl *s)
{
	char t[220];

	snprintf(t, sizeof(t), "%s%s", s->title,
		 s->grabbed ? " (grabbed: Ctrl-Alt to release)" : "");
	SDL_SetWindowTitle(s->win, t);
}

static void sdl_set_grab(struct sdl *s, bool grab)
{
	bool relative = grab && !__atomic_load_n(&s->abs_pointer, __ATOMIC_RELAXED);

	if (s->grabbed == grab)
		return;
	s->grabbed = grab;
	SDL_SetWindowGrab(s->win, grab ? SDL_TRUE : SDL_FALSE);
	SDL_SetRelativeMouseMode(relative ? SDL_TRUE : SDL_FALSE);
	sdl_set_title(s);
	dm_info("sdl", "input %s", grab ? "grabbed" : "released");
}

static void sdl_toggle_full_screen(struct sdl *s)
{
	s->full_screen = !s->full_screen;
	SDL_SetWindowFullscreen(s->win, s->full_screen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
}

/* Show the frame: recreate the texture after a resize, upload the dirty box, present. */
static void sdl_present(struct sdl *s)
{
	bool resized;
	SDL_Rect box = { 0 };

	__atomic_store_n(&s->wake_pending, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&s->lock);
	resized = s->resized;
	s->resized = false;
	if (resized) {
		if (s->tex)
			SDL_DestroyTexture(s->tex);
		s->tex = SDL_CreateTexture(s->ren, SDL_PIXELFORMAT_RGB888,
					   SDL_TEXTUREACCESS_STREAMING, (int)s->w, (int)s->h);
		SDL_RenderSetLogicalSize(s->ren, (int)s->w, (int)s->h);
		if (!s->full_screen)
			SDL_SetWindowSize(s->win, (int)s->w, (int)s->h);
	}
	if (s->tex && s->have_dirty && s->frame) {
		box.x = s->dx1;
		box.y = s->dy1;
		box.w = s->dx2 - s->dx1;
		box.h = s->dy2 - s->dy1;
		SDL_UpdateTexture(s->tex, &box, s->frame + (size_t)box.y * s->w + (size_t)box.x,
				  (int)s->w * 4);
	}
	s->have_dirty = false;
	pthread_mutex_unlock(&s->lock);
	SDL_SetRenderDrawColor(s->ren, 0, 0, 0, 255);
	SDL_RenderClear(s->ren);
	if (s->tex)
		SDL_RenderCopy(s->ren, s->tex, NULL, NULL);
	SDL_RenderPresent(s->ren);
}

static bool sdl_ctrl_alt(SDL_Keymod m)
{
	return (m & KMOD_CTRL) && (m & KMOD_ALT);
}

static void sdl_key(struct sdl *s, const SDL_KeyboardEvent *k)
{
	bool down = k->type == SDL_KEYDOWN;
	SDL_Scancode sc = k->keysym.scancode;
	bool is_mod = sc == SDL_SCANCODE_LCTRL || sc == SDL_SCANCODE_RCTRL ||
		      sc == SDL_SCANCODE_LALT || sc == SDL_SCANCODE_RALT;
	SDL_Keymod mod = (SDL_Keymod)k->keysym.mod; /* already includes this key */

	if (down && !k->repeat && is_mod && sdl_ctrl_alt(mod)) {
		s->combo_armed = true;
	} else if (down && !is_mod) {
		s->combo_armed = false;
		if (sc == SDL_SCANCODE_F && sdl_ctrl_alt(mod)) {
			if (!k->repeat)
				sdl_toggle_full_screen(s);
			return; /* hotkey: the guest never sees the F */
		}
	} else if (!down && is_mod && s->combo_armed) {
		/* Ctrl+Alt pressed and released alone: toggle the grab. */
		s->combo_armed = false;
		sdl_post_key(s, sdl_scancode_to_keycode((unsigned)sc), false);
		sdl_release_keys(s);
		sdl_set_grab(s, !s->grabbed);
		return;
	}
	sdl_post_key(s, sdl_scancode_to_keycode((unsigned)sc), down);
}

static unsigned sdl_buttons(uint32_t state)
{
	return (state & SDL_BUTTON_LMASK ? INPUT_BTN_LEFT : 0) |
	       (state & SDL_BUTTON_RMASK ? INPUT_BTN_RIGHT : 0) |
	       (state & SDL_BUTTON_MMASK ? INPUT_BTN_MIDDLE : 0) |
	       (state & SDL_BUTTON_X1MASK ? INPUT_BTN_SIDE : 0) |
	       (state & SDL_BUTTON_X2MASK ? INPUT_BTN_EXTRA : 0);
}

/* Pointer: absolute sinks follow the window position; relative ones only while grabbed. */
static void sdl_pointer(struct sdl *s, int x, int y, int xrel, int yrel, int dz)
{
	struct sdl_event e = { .dz = dz };
	int mx, my;

	e.buttons = sdl_buttons(SDL_GetMouseState(&mx, &my));
	if (__atomic_load_n(&s->abs_pointer, __ATOMIC_RELAXED)) {
		e.kind = SDL_EV_ABS;
		e.x = x < 0 ? 0 : x;
		e.y = y < 0 ? 0 : y;
	} else if (s->grabbed) {
		e.kind = SDL_EV_REL;
		e.x = xrel;
		e.y = yrel;
	} else {
		return;
	}
	sdl_post(s, &e);
}

static void sdl_handle(struct sdl *s, const SDL_Event *ev)
{
	struct sdl_event close = { .kind = SDL_EV_CLOSE };
	int x, y;

	if (ev->type == s->wake_event) {
		sdl_present(s);
		return;
	}
	switch (ev->type) {
	case SDL_KEYDOWN:
	case SDL_KEYUP:
		sdl_key(s, &ev->key);
		break;
	case SDL_MOUSEMOTION:
		sdl_pointer(s, ev->motion.x, ev->motion.y, ev->motion.xrel, ev->motion.yrel, 0);
		break;
	case SDL_MOUSEBUTTONDOWN:
	case SDL_MOUSEBUTTONUP:
		/* A relative pointer is useless ungrabbed: a left click grabs (QEMU does too). */
		if (ev->type == SDL_MOUSEBUTTONDOWN && ev->button.button == SDL_BUTTON_LEFT &&
		    !s->grabbed && !__atomic_load_n(&s->abs_pointer, __ATOMIC_RELAXED)) {
			sdl_set_grab(s, true);
			break;
		}
		sdl_pointer(s, ev->button.x, ev->button.y, 0, 0, 0);
		break;
	case SDL_MOUSEWHEEL:
		/* SDL: y > 0 away from the user; input.h: dz > 0 towards the user. */
		SDL_GetMouseState(&x, &y);
		sdl_pointer(s, x, y, 0, 0, ev->wheel.y > 0 ? -1 : ev->wheel.y < 0 ? 1 : 0);
		break;
	case SDL_WINDOWEVENT:
		if (ev->window.event == SDL_WINDOWEVENT_FOCUS_LOST) {
			/* Keys must not stick in the guest when the window loses focus. */
			s->combo_armed = false;
			sdl_release_keys(s);
			if (!s->full_screen)
				sdl_set_grab(s, false);
		} else if (ev->window.event == SDL_WINDOWEVENT_EXPOSED ||
			   ev->window.event == SDL_WINDOWEVENT_SIZE_CHANGED) {
			sdl_present(s);
		}
		break;
	case SDL_QUIT:
		sdl_post(s, &close);
		break;
	default:
		break;
	}
}

static int sdl_open(struct sdl *s)
{
	uint32_t flags = SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI;

	if (s->full_screen)
		flags |= SDL_WINDOW_FULLSCREEN_DESKTOP;
	/* Closing the window must reach us as SDL_QUIT, and the compositor may stay on. */
	SDL_SetHint(SDL_HINT_VIDEO_X11_NET_WM_BYPASS_COMPOSITOR, "0");
	SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
	/* SIGINT/SIGTERM belong to the dm (a clean shutdown), not to SDL's SDL_QUIT. */
	SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
	if (SDL_Init(SDL_INIT_VIDEO) < 0) {
		dm_err("sdl", "cannot initialise SDL video: %s", SDL_GetError());
		return -ENODEV;
	}
	s->wake_event = SDL_RegisterEvents(1);
	s->win = SDL_CreateWindow(s->title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED,
				  (int)(s->w ? s->w : 640), (int)(s->h ? s->h : 480), flags);
	if (!s->win) {
		dm_err("sdl", "cannot create the window: %s", SDL_GetError());
		return -ENODEV;
	}
	s->ren = SDL_CreateRenderer(s->win, -1, 0);
	if (!s->ren) {
		dm_err("sdl", "cannot create a renderer: %s", SDL_GetError());
		return -ENODEV;
	}
	if (s->wake_event == (uint32_t)-1)
		return -ENOSPC;
	dm_info("sdl", "window open (%s video, %s renderer)", SDL_GetCurrentVideoDriver(), "SDL");
	return 0;
}

static void sdl_close(struct sdl *s)
{
	if (s->tex)
		SDL_DestroyTexture(s->tex);
	if (s->ren)
		SDL_DestroyRenderer(s->ren);
	if (s->win)
		SDL_DestroyWindow(s->win);
	SDL_Quit();
}

static void *sdl_thread(void *arg)
{
	struct sdl *s = arg;
	SDL_Event ev;
	int err = sdl_open(s);

	pthread_mutex_lock(&s->lock);
	s->ready = err ? err : 1;
	pthread_cond_signal(&s->ready_cond);
	pthread_mutex_unlock(&s->lock);
	if (err)
		goto out;
	sdl_present(s);
	while (!__atomic_load_n(&s->quit, __ATOMIC_ACQUIRE)) {
		if (!SDL_WaitEvent(&ev))
			continue;
		sdl_handle(s, &ev);
	}
out:
	sdl_close(s);
	return NULL;
}

bool sdl_available(void)
{
	return true;
}

static void sdl_free(struct sdl *s)
{
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->ready_cond);
	free(s->frame);
	free(s);
}

int sdl_start(struct dm *dm, const struct sdl_opts *o)
{
	struct sdl *s;
	int err;

	if (sdl_instance) {
		dm_err("sdl", "only one SDL window per process");
		return -EBUSY;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dm = dm;
	s->full_screen = o && o->full_screen;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->ready_cond, NULL);
	snprintf(s->title, sizeof(s->title), "%s%shvmdm", dm->cfg.name ? dm->cfg.name : "",
		 dm->cfg.name && *dm->cfg.name ? " - " : "");
	s->con = console_of(dm);
	if (!s->con) {
		sdl_free(s);
		return -ENOMEM;
	}
	s->w = console_width(s->con);
	s->h = console_height(s->con);
	s->frame = calloc((size_t)s->w * s->h, 4);
	s->resized = true;
	err = pthread_create(&s->thread, NULL, sdl_thread, s);
	if (err) {
		sdl_free(s);
		return -err;
	}
	pthread_mutex_lock(&s->lock);
	while (!s->ready)
		pthread_cond_wait(&s->ready_cond, &s->lock);
	err = s->ready < 0 ? s->ready : 0;
	pthread_mutex_unlock(&s->lock);
	if (err) {
		pthread_join(s->thread, NULL);
		sdl_free(s);
		return err;
	}
	err = console_add_listener(s->con, &sdl_listener_ops, s);
	if (err) {
		sdl_instance = s;
		sdl_stop(dm);
		return err;
	}
	sdl_instance = s;
	console_start(s->con);
	dm_info("sdl", "window \"%s\"%s", s->title, s->full_screen ? " (full screen)" : "");
	return 0;
}

void sdl_stop(struct dm *dm)
{
	struct sdl *s = sdl_instance;
	SDL_Event ev = { .type = SDL_USEREVENT };

	if (!s || s->dm != dm)
		return;
	console_remove_listener(s->con, s);
	__atomic_store_n(&s->quit, 1, __ATOMIC_RELEASE);
	ev.type = s->wake_event;
	SDL_PushEvent(&ev);
	pthread_join(s->thread, NULL);
	sdl_instance = NULL;
	/*
	 * Events still queued on the loop point at s: keep it (a few hundred
	 * bytes at exit) rather than free it under them.
	 */
	if (__atomic_load_n(&s->pending, __ATOMIC_ACQUIRE) == 0)
		sdl_free(s);
}

#else /* !HVM_HAVE_SDL */

bool sdl_available(void)
{
	return false;
}

int sdl_start(struct dm *dm, const struct sdl_opts *o)
{
	(void)dm;
	(void)o;
	dm_err("sdl", "-sdl: this hvmdm was built without SDL2 (install libsdl2-dev and "
		      "rebuild); use -vnc instead");
	return -ENOTSUP;
}

void sdl_stop(struct dm *dm)
{
	(void)dm;
}

#endif /* HVM_HAVE_SDL */
