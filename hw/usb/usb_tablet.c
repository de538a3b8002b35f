// SPDX-License-Identifier: MIT
/*
 * usb_tablet.c - a full-speed USB HID absolute pointer (USB 2.0 chapter 9,
 * Device Class Definition for HID 1.11), device type "usb-tablet".
 *
 * How it attaches: create "piix3-usb-uhci" first; the tablet finds it with
 * dev_find() in its create() and plugs into the first free root port
 * (port 1 on a fresh controller), or the one given with port=1|2.  It
 * unplugs in destroy(); devices are destroyed in reverse creation order, and
 * a controller destroyed first unplugs it itself.
 *
 * The device: IDs 0627:0001 (those guests know for QEMU's tablet), one
 * configuration with one HID interface (no boot protocol) and one interrupt
 * IN endpoint 0x81 (8-byte packets, polled every 10 ms); strings for the
 * manufacturer, the product "HVMDM USB Tablet" and a serial number.  Each
 * report is 6 bytes: buttons (3 bits), X and Y in 0..0x7fff (absolute, as
 * ui/input.h hands them to absolute sinks), the wheel (-127..127, positive
 * away from the user).  Requests: GET_DESCRIPTOR (device, configuration,
 * string, HID, report), SET_ADDRESS (usb_core.c), SET/GET_CONFIGURATION,
 * GET_STATUS, CLEAR/SET_FEATURE (remote wakeup, endpoint halt),
 * GET/SET_INTERFACE, and the HID class requests GET_REPORT, GET/SET_IDLE,
 * GET/SET_PROTOCOL.
 *
 * Pointer events from the input router (priority INPUT_PRIO_USB) are
 * queued, at most TABLET_QUEUE of them; a full queue folds new motion into
 * its newest entry.  The interrupt endpoint returns the oldest queued report,
 * repeats the last one when the idle period set with SET_IDLE ran out, and
 * NAKs otherwise.  While the port is suspended and the host enabled remote
 * wakeup, an event asks the controller for a resume.
 */
#include <errno.h>
#include <string.h>

#include "clock.h"
#include "device.h"
#include "dm.h"
#include "log.h"
#include "input.h"
#include "usb/usb.h"

#define MOD "usb-tablet"

#define TABLET_QUEUE 16
#define TABLET_REPORT_LEN 6
#define TABLET_EP 1
#define TABLET_MAX_PACKET 8

/* Standard requests (USB 2.0 table 9-4) and HID class requests (HID 1.11 7.2). */
#define REQ_GET_STATUS 0x00
#define REQ_CLEAR_FEATURE 0x01
#define REQ_SET_FEATURE 0x03
#define REQ_GET_DESCRIPTOR 0x06
#define REQ_GET_CONFIGURATION 0x08
#define REQ_SET_CONFIGURATION 0x09
#define REQ_GET_INTERFACE 0x0a
#define REQ_SET_INTERFACE 0x0b
#define HID_GET_REPORT 0x01
#define HID_GET_IDLE 0x02
#define HID_GET_PROTOCOL 0x03
#define HID_SET_IDLE 0x0a
#define HID_SET_PROTOCOL 0x0b

/* bmRequestType values used here. */
#define RT_DEV_IN 0x80
#define RT_IF_IN 0x81
#define RT_EP_IN 0x82
#define RT_DEV_OUT 0x00
#define RT_IF_OUT 0x01
#define RT_EP_OUT 0x02
#define RT_CLASS_IF_IN 0xa1
#define RT_CLASS_IF_OUT 0x21

#define DT_DEVICE 1
#define DT_CONFIG 2
#define DT_STRING 3
#define DT_HID 0x21
#define DT_REPORT 0x22

#define FEAT_ENDPOINT_HALT 0
#define FEAT_REMOTE_WAKEUP 1

/* HID 1.11 section 7.2.4: idle duration unit. */
#define IDLE_UNIT_NS (4 * NS_PER_MS)

static const uint8_t tablet_dev_desc[18] = {
	18,	   /* bLength */
	DT_DEVICE, /* bDescriptorType */
	0x10,	   /* bcdUSB 1.10 */
	0x01,	   /* (high byte) */
	0x00,	   /* bDeviceClass: in the interface */
	0x00,	   /* bDeviceSubClass */
	0x00,	   /* bDeviceProtocol */
	8,	   /* bMaxPacketSize0 */
	0x27,	   /* idVendor 0x0627 */
	0x06,	   /* (high byte) */
	0x01,	   /* idProduct 0x0001 */
	0x00,	   /* (high byte) */
	0x00,	   /* bcdDevice */
	0x00,	   /* (high byte) */
	1,	   /* iManufacturer */
	2,	   /* iProduct */
	3,	   /* iSerialNumber */
	1,	   /* bNumConfigurations */
};

/*
 * Absolute pointer: three buttons and five bits of padding, X and Y of 16
 * bits in 0..0x7fff, a relative wheel of 8 bits (HID 1.11 section 6.2.2 items).
 */
static const uint8_t tablet_report_desc[] = {
	0x05, 0x01,	  /* Usage Page: Generic Desktop */
	0x09, 0x02,	  /* Usage: Mouse */
	0xa1, 0x01,	  /* Collection: Application */
	0x09, 0x01,	  /*   Usage: Pointer */
	0xa1, 0x00,	  /*   Collection: Physical */
	0x05, 0x09,	  /*     Usage Page: Button */
	0x19, 0x01,	  /*     Usage Minimum: 1 */
	0x29, 0x03,	  /*     Usage Maximum: 3 */
	0x15, 0x00,	  /*     Logical Minimum: 0 */
	0x25, 0x01,	  /*     Logical Maximum: 1 */
	0x95, 0x03,	  /*     Report Count: 3 */
	0x75, 0x01,	  /*     Report Size: 1 */
	0x81, 0x02,	  /*     Input: Data, Variable, Absolute */
	0x95, 0x01,	  /*     Report Count: 1 */
	0x75, 0x05,	  /*     Report Size: 5 */
	0x81, 0x01,	  /*     Input: Constant */
	0x05, 0x01,	  /*     Usage Page: Generic Desktop */
	0x09, 0x30,	  /*     Usage: X */
	0x09, 0x31,	  /*     Usage: Y */
	0x15, 0x00,	  /*     Logical Minimum: 0 */
	0x26, 0xff, 0x7f, /*     Logical Maximum: 0x7fff */
	0x35, 0x00,	  /*     Physical Minimum: 0 */
	0x46, 0xff, 0x7f, /*     Physical Maximum: 0x7fff */
	0x75, 0x10,	  /*     Report Size: 16 */
	0x95, 0x02,	  /*     Report Count: 2 */
	0x81, 0x02,	  /*     Input: Data, Variable, Absolute */
	0x09, 0x38,	  /*     Usage: Wheel */
	0x15, 0x81,	  /*     Logical Minimum: -127 */
	0x25, 0x7f,	  /*     Logical Maximum: 127 */
	0x35, 0x00,	  /*     Physical Minimum: 0 */
	0x45, 0x00,	  /*     Physical Maximum: 0 */
	0x75, 0x08,	  /*     Report Size: 8 */
	0x95, 0x01,	  /*     Report Count: 1 */
	0x81, 0x06,	  /*     Input: Data, Variable, Relative */
	0xc0,		  /*   End Collection */
	0xc0,		  /* End Collection */
};

#define REPORT_DESC_LEN sizeof(tablet_report_desc)
#define CONFIG_TOTAL_LEN 34

static const uint8_t tablet_config_desc[CONFIG_TOTAL_LEN] = {
	/* configuration (USB 2.0 table 9-10) */
	9,		  /* bLength */
	DT_CONFIG,	  /* bDescriptorType */
	CONFIG_TOTAL_LEN, /* wTotalLength */
	0,		  /* (high byte) */
	1,		  /* bNumInterfaces */
	1,		  /* bConfigurationValue */
	0,		  /* iConfiguration */
	0xa0,		  /* bmAttributes: bus powered, remote wakeup */
	50,		  /* bMaxPower: 100 mA */
	/* interface (table 9-12) */
	9,    /* bLength */
	4,    /* bDescriptorType */
	0,    /* bInterfaceNumber */
	0,    /* bAlternateSetting */
	1,    /* bNumEndpoints */
	0x03, /* bInterfaceClass: HID */
	0x00, /* bInterfaceSubClass: no boot interface */
	0x00, /* bInterfaceProtocol */
	0,    /* iInterface */
	/* HID (HID 1.11 section 6.2.1) */
	9,			/* bLength */
	DT_HID,			/* bDescriptorType */
	0x11,			/* bcdHID 1.11 */
	0x01,			/* (high byte) */
	0,			/* bCountryCode */
	1,			/* bNumDescriptors */
	DT_REPORT,		/* bDescriptorType */
	REPORT_DESC_LEN & 0xff, /* wDescriptorLength */
	REPORT_DESC_LEN >> 8,	/* (high byte) */
	/* endpoint (table 9-13) */
	7,		   /* bLength */
	5,		   /* bDescriptorType */
	0x80 | TABLET_EP,  /* bEndpointAddress: IN 1 */
	0x03,		   /* bmAttributes: interrupt */
	TABLET_MAX_PACKET, /* wMaxPacketSize */
	0,		   /* (high byte) */
	10,		   /* bInterval: 10 ms */
};

static const char *const tablet_strings[] = {
	NULL, /* index 0: the language list */
	"HVMDM",
	"HVMDM USB Tablet",
	"1",
};

struct tablet_event {
	uint16_t x, y;
	int8_t wheel;
	uint8_t buttons;
};

struct usb_tablet {
	struct dm *dm;
	struct usb_device udev;
	struct input_sink *sink;

	struct tablet_event q[TABLET_QUEUE];
	unsigned head, count;
	struct tablet_event last; /* what the newest report said */

	uint8_t config;
	uint8_t idle;	  /* SET_IDLE duration in 4 ms units; 0: only on change */
	uint8_t protocol; /* 0 boot, 1 report */
	bool remote_wakeup;
	bool halted;	      /* endpoint 1 halt feature */
	uint64_t last_report; /* virtual time of the last interrupt report */
};

/* ---- reports ------------------------------------------------------------------------------- */

static void tablet_fill(const struct tablet_event *e, uint8_t *r)
{
	r[0] = e->buttons & 0x07;
	r[1] = (uint8_t)e->x;
	r[2] = (uint8_t)(e->x >> 8);
	r[3] = (uint8_t)e->y;
	r[4] = (uint8_t)(e->y >> 8);
	r[5] = (uint8_t)e->wheel;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void tablet_event(void *opaque, int x, int y, int dz, unsigned buttons)
{
	struct usb_tablet *t = opaque;
	struct tablet_event e = {
		.x = (uint16_t)clamp(x, 0, INPUT_ABS_MAX),
		.y = (uint16_t)clamp(y, 0, INPUT_ABS_MAX),
		.wheel = (int8_t)clamp(-dz, -127, 127), /* HID: positive is away */
		.buttons = (uint8_t)(buttons & 0x07),
	};

	if (t->count == TABLET_QUEUE) {
		struct tablet_event *n = &t->q[(t->head + t->count - 1) % TABLET_QUEUE];

		/* Full: the newest entry takes the new position, buttons and wheel sum. */
		n->x = e.x;
		n->y = e.y;
		n->buttons = e.buttons;
		n->wheel = (int8_t)clamp(n->wheel + e.wheel, -127, 127);
	} else {
		t->q[(t->head + t->count) % TABLET_QUEUE] = e;
		t->count++;
	}
	if (t->remote_wakeup)
		usb_wakeup(&t->udev);
	usb_data_ready(&t->udev);
}

static const struct input_ptr_ops tablet_ptr_ops = {
	.event = tablet_event,
};

/* Interrupt IN (HID 1.11 section 7.2.4 for the idle rule). */
static int tablet_data(struct usb_device *ud, uint8_t pid, uint8_t ep, uint8_t *buf, size_t len)
{
	struct usb_tablet *t = ud->opaque;
	uint64_t now = clock_ns(t->dm->clock);

	if (ud->state != USB_STATE_CONFIGURED || ep != TABLET_EP || pid != USB_PID_IN || t->halted)
		return USB_RET_STALL;
	if (t->count) {
		t->last = t->q[t->head];
		t->head = (t->head + 1) % TABLET_QUEUE;
		t->count--;
	} else if (!t->idle || now - t->last_report < t->idle * IDLE_UNIT_NS) {
		return USB_RET_NAK;
	}
	if (len < TABLET_REPORT_LEN)
		return USB_RET_BABBLE;
	tablet_fill(&t->last, buf);
	t->last.wheel = 0; /* wheel motion is reported once */
	t->last_report = now;
	return TABLET_REPORT_LEN;
}

/* ---- control requests ---------------------------------------------------------------------- */

/* Copy at most cap bytes of a descriptor. */
static int reply(uint8_t *data, size_t cap, const void *src, size_t len)
{
	if (len > cap)
		len = cap;
	memcpy(data, src, len);
	return (int)len;
}

/* String descriptor idx in UTF-16LE (USB 2.0 section 9.6.7). */
static int string_desc(uint8_t idx, uint8_t *data, size_t cap)
{
	uint8_t d[2 + 2 * 32];
	const char *s;
	size_t i, n;

	if (idx == 0) {
		static const uint8_t langs[4] = { 4, DT_STRING, 0x09, 0x04 }; /* en-US */

		return reply(data, cap, langs, sizeof(langs));
	}
	if (idx >= sizeof(tablet_strings) / sizeof(tablet_strings[0]))
		return USB_RET_STALL;
	s = tablet_strings[idx];
	n = strlen(s);
	if (n > 32)
		n = 32;
	d[0] = (uint8_t)(2 + 2 * n);
	d[1] = DT_STRING;
	for (i = 0; i < n; i++) {
		d[2 + 2 * i] = (uint8_t)s[i];
		d[3 + 2 * i] = 0;
	}
	return reply(data, cap, d, 2 + 2 * n);
}

static int get_descriptor(const struct usb_setup *req, uint8_t *data, size_t cap)
{
	uint8_t type = req->value >> 8, idx = req->value & 0xff;

	if (req->type == RT_DEV_IN) {
		switch (type) {
		case DT_DEVICE:
			return reply(data, cap, tablet_dev_desc, sizeof(tablet_dev_desc));
		case DT_CONFIG:
			return idx ? USB_RET_STALL
				   : reply(data, cap, tablet_config_desc, CONFIG_TOTAL_LEN);
		case DT_STRING:
			return string_desc(idx, data, cap);
		}
		return USB_RET_STALL;
	}
	if (req->type == RT_IF_IN && req->index == 0) {
		if (type == DT_REPORT)
			return reply(data, cap, tablet_report_desc, REPORT_DESC_LEN);
		if (type == DT_HID)
			return reply(data, cap, tablet_config_desc + 18, 9);
	}
	return USB_RET_STALL;
}

static int tablet_feature(struct usb_tablet *t, const struct usb_setup *req, bool set)
{
	if (req->type == RT_DEV_OUT && req->value == FEAT_REMOTE_WAKEUP) {
		t->remote_wakeup = set;
		return 0;
	}
	if (req->type == RT_EP_OUT && req->value == FEAT_ENDPOINT_HALT &&
	    (req->index & 0x8f) == (0x80 | TABLET_EP)) {
		t->halted = set;
		return 0;
	}
	return USB_RET_STALL;
}

static int tablet_control(struct usb_device *ud, const struct usb_setup *req, uint8_t *data,
			  size_t cap)
{
	struct usb_tablet *t = ud->opaque;
	uint16_t type_req = (uint16_t)(req->type << 8 | req->request);
	uint8_t b[TABLET_REPORT_LEN];

	switch (type_req) {
	case RT_DEV_IN << 8 | REQ_GET_DESCRIPTOR:
	case RT_IF_IN << 8 | REQ_GET_DESCRIPTOR:
		return get_descriptor(req, data, cap);
	case RT_DEV_IN << 8 | REQ_GET_STATUS:
		b[0] = t->remote_wakeup ? 0x02 : 0x00; /* bus powered */
		b[1] = 0;
		return reply(data, cap, b, 2);
	case RT_IF_IN << 8 | REQ_GET_STATUS:
		b[0] = b[1] = 0;
		return reply(data, cap, b, 2);
	case RT_EP_IN << 8 | REQ_GET_STATUS:
		if ((req->index & 0x7f) == TABLET_EP)
			b[0] = t->halted;
		else if ((req->index & 0x7f) == 0)
			b[0] = 0;
		else
			return USB_RET_STALL;
		b[1] = 0;
		return reply(data, cap, b, 2);
	case RT_DEV_OUT << 8 | REQ_CLEAR_FEATURE:
	case RT_EP_OUT << 8 | REQ_CLEAR_FEATURE:
		return tablet_feature(t, req, false);
	case RT_DEV_OUT << 8 | REQ_SET_FEATURE:
	case RT_EP_OUT << 8 | REQ_SET_FEATURE:
		return tablet_feature(t, req, true);
	case RT_DEV_IN << 8 | REQ_GET_CONFIGURATION:
		return reply(data, cap, &t->config, 1);
	case RT_DEV_OUT << 8 | REQ_SET_CONFIGURATION:
		if (req->value > 1 || ud->state == USB_STATE_DEFAULT)
			return USB_RET_STALL;
		t->config = (uint8_t)req->value;
		ud->state = t->config ? USB_STATE_CONFIGURED : USB_STATE_ADDRESS;
		t->halted = false;
		return 0;
	case RT_IF_IN << 8 | REQ_GET_INTERFACE:
		b[0] = 0;
		return t->config ? reply(data, cap, b, 1) : USB_RET_STALL;
	case RT_IF_OUT << 8 | REQ_SET_INTERFACE:
		return t->config && req->value == 0 && req->index == 0 ? 0 : USB_RET_STALL;
	case RT_CLASS_IF_IN << 8 | HID_GET_REPORT:
		/* Input report (type 1), the only one (no report IDs). */
		if ((req->value >> 8) != 1)
			return USB_RET_STALL;
		tablet_fill(&t->last, b);
		return reply(data, cap, b, TABLET_REPORT_LEN);
	case RT_CLASS_IF_IN << 8 | HID_GET_IDLE:
		return reply(data, cap, &t->idle, 1);
	case RT_CLASS_IF_OUT << 8 | HID_SET_IDLE:
		t->idle = (uint8_t)(req->value >> 8);
		return 0;
	case RT_CLASS_IF_IN << 8 | HID_GET_PROTOCOL:
		return reply(data, cap, &t->protocol, 1);
	case RT_CLASS_IF_OUT << 8 | HID_SET_PROTOCOL:
		if (req->value > 1)
			return USB_RET_STALL;
		t->protocol = (uint8_t)req->value;
		return 0;
	}
	return USB_RET_STALL;
}

static void tablet_usb_reset(struct usb_device *ud)
{
	struct usb_tablet *t = ud->opaque;

	t->config = 0;
	t->idle = 0;
	t->protocol = 1;
	t->remote_wakeup = false;
	t->halted = false;
	t->head = t->count = 0;
	memset(&t->last, 0, sizeof(t->last));
	t->last_report = 0;
}

static const struct usb_device_ops tablet_usb_ops = {
	.control = tablet_control,
	.data = tablet_data,
	.reset = tablet_usb_reset,
};

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void tablet_reset(struct dev *d, enum dev_reset kind)
{
	struct usb_tablet *t = d->state;

	usb_device_reset(&t->udev);
}

static int tablet_create(struct dev *d, const struct opts *o)
{
	struct usb_tablet *t = d->state;
	uint64_t port;
	int err;

	t->dm = d->dm;
	usb_device_init(&t->udev, d->type->name, &tablet_usb_ops, t);
	err = opts_get_u64(o, "port", 0, &port);
	if (err || port > 2) {
		dm_err(MOD, "port=%s: give 1 or 2", opts_get(o, "port"));
		return -EINVAL;
	}
	err = uhci_attach(d->dm, &t->udev, (int)port - 1);
	if (err == -ENODEV)
		dm_err(MOD, "no USB controller: create piix3-usb-uhci first (-usb)");
	else if (err)
		dm_err(MOD, "cannot plug into the UHCI root port%s: %d", port ? "" : "s", err);
	if (err)
		return err;
	return input_register_pointer(d->dm, MOD, INPUT_PRIO_USB, true, &tablet_ptr_ops, t,
				      &t->sink);
}

static void tablet_destroy(struct dev *d)
{
	struct usb_tablet *t = d->state;

	input_unregister(t->sink);
	t->sink = NULL;
	uhci_detach(&t->udev);
}

static const struct dev_type tablet_type = {
	.name = "usb-tablet",
	.state_size = sizeof(struct usb_tablet),
	.create = tablet_create,
	.reset = tablet_reset,
	.destroy = tablet_destroy,
};
DM_DEVICE(tablet_type);
