// SPDX-License-Identifier: MIT
/*
 * vnc.c - VNC server on libvncserver (see vnc.h).
 *
 * libvncserver provides RFB 3.3/3.7/3.8, VNC authentication, the Raw,
 * CopyRect, RRE, Hextile, Zlib, ZRLE and Tight encodings, DesktopSize and
 * WebSocket upgrades on the RFB port.  We add QEMU's Extended Key Event
 * (pseudo-encoding -258, client message 255/0) through its protocol
 * extension hook, and QMP query-vnc and change-vnc-password.
 */
#define _GNU_SOURCE
#include "vnc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rfb/rfb.h>

#include "console.h"
#include "dm.h"
#include "input.h"
#include "json.h"
#include "keymap.h"
#include "log.h"
#include "loop.h"
#include "qmp.h"

#define VNC_BASE_PORT 5900
#define VNC_PORT_TRIES 100
#define VNC_MAX_PENDING 4096 /* queued input events before new ones are dropped */

struct vnc {
	struct dm *dm;
	rfbScreenInfoPtr screen;
	struct console *con;
	uint8_t *fb;
	size_t fb_size;
	unsigned w, h;
	const struct keymap *km;
	int port;
	char *passwords[2]; /* NULL-terminated list for rfbCheckPasswordByList */
	char *old_password; /* previous one, freed on the next change */
	int pending;	    /* queued input events (atomic) */
};

struct vnc_event {
	struct vnc *vnc;
	bool is_key;
	bool down;
	unsigned keycode;
	int x, y, dz;
	unsigned buttons;
};

struct vnc_client {
	struct vnc *vnc;
	int last_mask;
};

/* libvncserver reports through global function pointers; route them to the domain log. */
static void vnc_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dm_info("vnc", "%s", buf);
}

static void vnc_set_format(rfbScreenInfoPtr s)
{
	/* The console surface is x8r8g8b8 in native (little-endian) order. */
	s->serverFormat.redShift = 16;
	s->serverFormat.greenShift = 8;
	s->serverFormat.blueShift = 0;
	s->serverFormat.redMax = 255;
	s->serverFormat.greenMax = 255;
	s->serverFormat.blueMax = 255;
}

/* ---- console listener (loop thread) ---------------------------------- */

static void vnc_resize(void *opaque, unsigned w, unsigned h)
{
	struct vnc *v = opaque;

	v->w = w;
	v->h = h;
	memset(v->fb, 0, (size_t)w * h * 4);
	rfbNewFramebuffer(v->screen, (char *)v->fb, (int)w, (int)h, 8, 3, 4);
	vnc_set_format(v->screen);
}

static void vnc_update(void *opaque, const pixman_region32_t *dirty)
{
	struct vnc *v = opaque;
	pixman_image_t *img = console_surface(v->con);
	const uint8_t *src = (const uint8_t *)pixman_image_get_data(img);
	int stride = pixman_image_get_stride(img), nrects, i, y;
	const pixman_box32_t *r = pixman_region32_rectangles((pixman_region32_t *)dirty, &nrects);

	for (i = 0; i < nrects; i++) {
		int x1 = r[i].x1, x2 = r[i].x2 > (int)v->w ? (int)v->w : r[i].x2;
		int y2 = r[i].y2 > (int)v->h ? (int)v->h : r[i].y2;

		if (x1 >= x2)
			continue;
		for (y = r[i].y1; y < y2; y++)
			memcpy(v->fb + ((size_t)y * v->w + (size_t)x1) * 4,
			       src + (size_t)y * (size_t)stride + (size_t)x1 * 4,
			       (size_t)(x2 - x1) * 4);
		rfbMarkRectAsModified(v->screen, x1, r[i].y1, x2, y2);
	}
}

static const struct console_listener_ops vnc_listener_ops = {
	.resize = vnc_resize,
	.update = vnc_update,
};

/* ---- input (client threads -> loop) ---------------------------------- */

static void vnc_event_run(void *arg)
{
	struct vnc_event *e = arg;
	struct vnc *v = e->vnc;

	__atomic_fetch_sub(&v->pending, 1, __ATOMIC_RELAXED);
	if (e->is_key)
		input_key(v->dm, e->keycode, e->down);
	else
		input_pointer_abs(v->dm, e->x, e->y, v->w ? v->w : 1, v->h ? v->h : 1, e->dz,
				  e->buttons);
	free(e);
}

static void vnc_post(struct vnc *v, struct vnc_event *e)
{
	if (__atomic_add_fetch(&v->pending, 1, __ATOMIC_RELAXED) > VNC_MAX_PENDING ||
	    loop_post(v->dm->loop, vnc_event_run, e) < 0) {
		__atomic_fetch_sub(&v->pending, 1, __ATOMIC_RELAXED);
		free(e);
	}
}

static void vnc_post_key(struct vnc *v, unsigned keycode, bool down)
{
	struct vnc_event *e;

	if (!keycode)
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->vnc = v;
	e->is_key = true;
	e->keycode = keycode;
	e->down = down;
	vnc_post(v, e);
}

static void vnc_kbd(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	vnc_post_key(v, keymap_keysym(v->km, (uint32_t)keysym), down);
}

static void vnc_ptr(int mask, int x, int y, rfbClientPtr cl)
{
	struct vnc_client *c = cl->clientData;
	struct vnc *v = cl->screen->screenData;
	struct vnc_event *e = calloc(1, sizeof(*e));
	int pressed = mask & ~(c ? c->last_mask : 0);

	rfbDefaultPtrAddEvent(mask, x, y, cl);
	if (!e)
		return;
	e->vnc = v;
	e->x = x;
	e->y = y;
	/* RFB: bit 0 left, 1 middle, 2 right, 3 wheel up, 4 wheel down. */
	e->buttons = (mask & 1 ? INPUT_BTN_LEFT : 0) | (mask & 2 ? INPUT_BTN_MIDDLE : 0) |
		     (mask & 4 ? INPUT_BTN_RIGHT : 0);
	e->dz = (pressed & 16 ? 1 : 0) - (pressed & 8 ? 1 : 0);
	if (c)
		c->last_mask = mask;
	vnc_post(v, e);
}

static void vnc_client_gone(rfbClientPtr cl)
{
	free(cl->clientData);
	cl->clientData = NULL;
}

static enum rfbNewClientAction vnc_new_client(rfbClientPtr cl)
{
	struct vnc_client *c = calloc(1, sizeof(*c));

	if (!c)
		return RFB_CLIENT_REFUSE;
	c->vnc = cl->screen->screenData;
	cl->clientData = c;
	cl->clientGoneHook = vnc_client_gone;
	return RFB_CLIENT_ACCEPT;
}

/* ---- QEMU Extended Key Event ----------------------------------------- */

static int vnc_ext_key_encodings[] = { (int)rfbEncodingQemuExtendedKeyEvent, 0 };

static rfbBool vnc_ext_new_client(rfbClientPtr cl, void **data)
{
	return TRUE;
}

/* The server acknowledges with an empty pseudo-rectangle of that encoding. */
static rfbBool vnc_ext_enable(rfbClientPtr cl, void **data, int encoding)
{
	rfbFramebufferUpdateMsg fu;
	rfbFramebufferUpdateRectHeader rh;

	if (encoding != (int)rfbEncodingQemuExtendedKeyEvent)
		return FALSE;
	memset(&fu, 0, sizeof(fu));
	memset(&rh, 0, sizeof(rh));
	fu.type = rfbFramebufferUpdate;
	fu.nRects = Swap16IfLE(1);
	rh.encoding = Swap32IfLE(rfbEncodingQemuExtendedKeyEvent);
	pthread_mutex_lock(&cl->sendMutex);
	if (rfbWriteExact(cl, (char *)&fu, sz_rfbFramebufferUpdateMsg) > 0)
		rfbWriteExact(cl, (char *)&rh, sz_rfbFramebufferUpdateRectHeader);
	pthread_mutex_unlock(&cl->sendMutex);
	return TRUE;
}

static rfbBool vnc_ext_message(rfbClientPtr cl, void *data, const rfbClientToServerMsg *msg)
{
	struct vnc *v = cl->screen->screenData;
	uint8_t b[11];

	if (msg->type != rfbQemuEvent)
		return FALSE;
	if (rfbReadExact(cl, (char *)b, 1) <= 0)
		return TRUE; /* the read closed the client */
	if (b[0] != 0) {
		/* Only the key event (submessage 0) is announced; anything else is a protocol error. */
		rfbCloseClient(cl);
		return TRUE;
	}
	if (rfbReadExact(cl, (char *)b + 1, 10) <= 0)
		return TRUE;
	{
		uint16_t down = (uint16_t)(b[1] << 8 | b[2]);
		uint32_t keysym = (uint32_t)b[3] << 24 | (uint32_t)b[4] << 16 |
				  (uint32_t)b[5] << 8 | b[6];
		uint32_t xt = (uint32_t)b[7] << 24 | (uint32_t)b[8] << 16 | (uint32_t)b[9] << 8 |
			      b[10];
		unsigned k = xt ? keymap_xt(xt) : keymap_keysym(v->km, keysym);

		vnc_post_key(v, k, down != 0);
	}
	return TRUE;
}

/* libvncserver keeps registered extensions in a global list: one entry for the process. */
static rfbProtocolExtension vnc_ext_key = {
	.newClient = vnc_ext_new_client,
	.pseudoEncodings = vnc_ext_key_encodings,
	.enablePseudoEncoding = vnc_ext_enable,
	.handleMessage = vnc_ext_message,
};

/* ---- setup ------------------------------------------------------------- */

static int vnc_probe_port(in_addr_t addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, ok;

	if (fd < 0)
		return -errno;
	sa.sin_addr.s_addr = addr;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
	close(fd);
	return ok;
}

static int vnc_pick_port(const struct vnc_opts *o, in_addr_t addr)
{
	int port = VNC_BASE_PORT + o->display, i, err;

	for (i = 0; i < (o->find_unused ? VNC_PORT_TRIES : 1); i++, port++) {
		err = vnc_probe_port(addr, port);
		if (!err)
			return port;
		if (err != -EADDRINUSE)
			return err;
	}
	return -EADDRINUSE;
}

static struct vnc *vnc_of(const struct dm *dm)
{
	return dm->vnc;
}

static void vnc_set_password(struct vnc *v, const char *pw)
{
	char *copy = pw && *pw ? strdup(pw) : NULL;

	/* Client threads may be reading the old one: keep it until the next change. */
	free(v->old_password);
	v->old_password = v->passwords[0];
	__atomic_store_n(&v->passwords[0], copy, __ATOMIC_RELEASE);
	v->screen->authPasswdData = copy ? (void *)v->passwords : NULL;
	v->screen->passwordCheck = rfbCheckPasswordByList;
}

static int qmp_query_vnc(struct qmp_req *req)
{
	struct vnc *v = vnc_of(req->dm);
	struct json *o = json_new_object();
	char port[16];

	json_object_set(o, "enabled", json_new_bool(v != NULL));
	if (v) {
		snprintf(port, sizeof(port), "%d", v->port);
		json_object_set(o, "host",
				json_new_str(inet_ntoa(
					(struct in_addr){ .s_addr = v->screen->listenInterface })));
		json_object_set(o, "service", json_new_str(port));
		json_object_set(o, "family", json_new_str("ipv4"));
		json_object_set(o, "auth", json_new_str(v->passwords[0] ? "vnc" : "none"));
	}
	req->ret = o;
	return 0;
}

static int qmp_change_vnc_password(struct qmp_req *req)
{
	struct vnc *v = vnc_of(req->dm);
	const char *pw = json_get_str(req->args, "password");

	if (!v)
		return qmp_error(req, "VNC is not enabled");
	if (!pw)
		return qmp_error(req, "Parameter 'password' is missing");
	vnc_set_password(v, pw);
	dm_info("vnc", "password changed");
	return 0;
}

static const struct qmp_command vnc_qmp_cmds[] = {
	{ .name = "query-vnc", .fn = qmp_query_vnc },
	{ .name = "change-vnc-password", .fn = qmp_change_vnc_password },
};

static int vnc_setup_screen(struct vnc *v, in_addr_t addr)
{
	int argc = 0;
	rfbScreenInfoPtr s = rfbGetScreen(&argc, NULL, (int)v->w, (int)v->h, 8, 3, 4);

	if (!s)
		return -ENOMEM;
	v->screen = s;
	s->screenData = v;
	s->frameBuffer = (char *)v->fb;
	s->desktopName = v->dm->cfg.name && *v->dm->cfg.name ? v->dm->cfg.name : "hvmdm";
	s->port = v->port;
	s->ipv6port = 0; /* never listen on [::] behind the configured address's back */
	s->listenInterface = addr;
	s->alwaysShared = TRUE;
	s->kbdAddEvent = vnc_kbd;
	s->ptrAddEvent = vnc_ptr;
	s->newClientHook = vnc_new_client;
	s->cursor = NULL; /* the guest draws its own pointer into the picture */
	vnc_set_format(s);
	rfbInitServer(s);
	if (s->listenSock < 0)
		return -EADDRINUSE;
	rfbRunEventLoop(s, -1, TRUE);
	return 0;
}

int vnc_start(struct dm *dm, const struct vnc_opts *o)
{
	const char *listen = o->listen && *o->listen ? o->listen : "127.0.0.1";
	struct vnc *v;
	struct in_addr addr;
	int err;

	if (!strcmp(listen, "localhost"))
		listen = "127.0.0.1";
	if (inet_pton(AF_INET, listen, &addr) != 1) {
		dm_err("vnc", "vnclisten '%s' is not an IPv4 address", listen);
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->dm = dm;
	v->km = keymap_find(o->keymap);
	if (!v->km) {
		dm_err("vnc", "keymap '%s' unknown (known: %s)", o->keymap, keymap_names());
		free(v);
		return -EINVAL;
	}
	v->con = console_of(dm);
	v->fb_size = (size_t)CONSOLE_MAX_WIDTH * CONSOLE_MAX_HEIGHT * 4;
	v->fb = mmap(NULL, v->fb_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!v->con || v->fb == MAP_FAILED) {
		free(v);
		return -ENOMEM;
	}
	v->w = console_width(v->con);
	v->h = console_height(v->con);
	v->port = vnc_pick_port(o, addr.s_addr);
	if (v->port < 0) {
		err = v->port;
		dm_err("vnc", "cannot listen on %s:%d: %s%s", listen, VNC_BASE_PORT + o->display,
		       strerror(-err), o->find_unused ? "" : " (vncunused=1 picks a free port)");
		goto err_fb;
	}
	rfbLog = vnc_log;
	rfbErr = vnc_log;
	rfbRegisterProtocolExtension(&vnc_ext_key);
	dm->vnc = v;
	err = vnc_setup_screen(v, addr.s_addr);
	if (err) {
		dm_err("vnc", "cannot listen on %s:%d", listen, v->port);
		goto err_screen;
	}
	vnc_set_password(v, o->password);
	err = console_add_listener(v->con, &vnc_listener_ops, v);
	if (err)
		goto err_screen;
	console_start(v->con);
	qmp_register_commands(dm, vnc_qmp_cmds, 2, NULL);
	dm_info("vnc", "listening on %s:%d (display %d)%s", listen, v->port,
		v->port - VNC_BASE_PORT, v->passwords[0] ? ", password required" : "");
	return 0;
err_screen:
	if (v->screen)
		rfbScreenCleanup(v->screen);
	dm->vnc = NULL;
err_fb:
	munmap(v->fb, v->fb_size);
	free(v);
	return err;
}

void vnc_stop(struct dm *dm)
{
	struct vnc *v = dm->vnc;

	if (!v)
		return;
	console_remove_listener(v->con, v);
	rfbShutdownServer(v->screen, TRUE);
	rfbScreenCleanup(v->screen);
	munmap(v->fb, v->fb_size);
	free(v->passwords[0]);
	free(v->old_password);
	free(v);
	dm->vnc = NULL;
}

int vnc_port(const struct dm *dm)
{
	return dm->vnc ? dm->vnc->port : -1;
}
