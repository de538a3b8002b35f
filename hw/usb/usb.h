/* SPDX-License-Identifier: MIT */
/*
 * usb.h - the interface between USB host controllers (hw/usb/uhci.c) and USB
 * function models (hw/usb/usb_tablet.c).
 *
 * A host controller delivers one token at a time with usb_handle_packet():
 * SETUP, IN or OUT to an endpoint of the device it addressed.  Endpoint 0 is
 * the default control pipe (USB 2.0 section 5.5 and chapter 9), run here in
 * usb_core.c: it collects the three stages of a control transfer and hands
 * the device one complete request through ops->control().  SET_ADDRESS is
 * handled by the core (it takes effect after the status stage, USB 2.0
 * 9.4.6).  Other endpoints go straight to ops->data().
 *
 * Results are byte counts or a negative handshake: NAK, STALL, BABBLE (the
 * device sent more than the host asked for), NODEV (no handshake at all:
 * the host reports a timeout).  Loop thread only.
 */
#ifndef HW_USB_USB_H
#define HW_USB_USB_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dm;
struct usb_device;

#define USB_RET_NAK (-EAGAIN)
#define USB_RET_STALL (-EPIPE)
#define USB_RET_BABBLE (-EOVERFLOW)
#define USB_RET_NODEV (-ENODEV)

/* Packet identifiers (USB 2.0 table 8-1), as UHCI TDs carry them. */
#define USB_PID_SETUP 0x2d
#define USB_PID_IN 0x69
#define USB_PID_OUT 0xe1

/* Largest data stage of a control transfer the core buffers. */
#define USB_CTRL_BUF 4096

/* Device states that matter to the host (USB 2.0 section 9.1.1). */
enum usb_state {
	USB_STATE_DEFAULT = 0,
	USB_STATE_ADDRESS,
	USB_STATE_CONFIGURED,
};

/* A SETUP packet decoded (USB 2.0 table 9-2). */
struct usb_setup {
	uint8_t type; /* bmRequestType; bit 7 set: device to host */
	uint8_t request;
	uint16_t value, index, length;
};

#define USB_DIR_IN 0x80

struct usb_device_ops {
	/*
	 * One control request.  Device-to-host: fill at most cap bytes of
	 * data (cap <= req->length) and return the count.  Host-to-device:
	 * data holds req->length bytes; return 0.  USB_RET_STALL refuses.
	 */
	int (*control)(struct usb_device *ud, const struct usb_setup *req, uint8_t *data,
		       size_t cap);
	/*
	 * A data packet on endpoint ep (1-15).  IN: fill at most len bytes of
	 * buf and return the count; OUT: buf holds len bytes.  Or USB_RET_*.
	 */
	int (*data)(struct usb_device *ud, uint8_t pid, uint8_t ep, uint8_t *buf, size_t len);
	/* Bus reset (port reset, controller global reset): back to defaults. */
	void (*reset)(struct usb_device *ud);
};

/* What a device asks of the controller it is plugged into. */
struct usb_host_ops {
	/* Remote wakeup (USB 2.0 section 7.1.7.7): the device signals resume. */
	void (*wakeup)(void *host, struct usb_device *ud);
	/* The device has new data for an IN endpoint: poll it soon. */
	void (*data_ready)(void *host, struct usb_device *ud);
};

enum usb_ctl_stage {
	USB_CTL_IDLE = 0,
	USB_CTL_DATA_IN,   /* IN data stage, then an OUT status stage */
	USB_CTL_DATA_OUT,  /* OUT data stage, then an IN status stage */
	USB_CTL_STATUS_IN, /* no data stage: the IN status stage */
};

struct usb_device {
	const char *name;
	const struct usb_device_ops *ops;
	void *opaque;
	uint8_t addr;
	enum usb_state state;

	/* Default control pipe (usb_core.c). */
	enum usb_ctl_stage stage;
	struct usb_setup setup;
	uint16_t ctl_len, ctl_pos; /* both <= USB_CTRL_BUF */
	int new_addr;		   /* SET_ADDRESS waiting for its status stage, or -1 */
	uint8_t ctl_buf[USB_CTRL_BUF];

	/* Set by the controller while the device is plugged in. */
	const struct usb_host_ops *host_ops;
	void *host;
};

void usb_device_init(struct usb_device *ud, const char *name, const struct usb_device_ops *ops,
		     void *opaque);
/* Bus reset: address 0, default state, control pipe idle, then ops->reset. */
void usb_device_reset(struct usb_device *ud);
/*
 * Deliver one token.  SETUP: buf holds len bytes (8 expected).  IN: up to
 * len bytes are stored in buf.  Returns the byte count or USB_RET_*.
 */
int usb_handle_packet(struct usb_device *ud, uint8_t pid, uint8_t ep, uint8_t *buf, size_t len);
/* Ask the controller for a remote wakeup (no-op when unplugged). */
void usb_wakeup(struct usb_device *ud);
/* Tell the controller an IN endpoint has data (no-op when unplugged). */
void usb_data_ready(struct usb_device *ud);

/*
 * Plug ud into root port `port` (0 or 1; -1: the first free one) of the dm's
 * UHCI controller ("piix3-usb-uhci").  0, -ENODEV (no controller), -EBUSY.
 */
int uhci_attach(struct dm *dm, struct usb_device *ud, int port);
/* Unplug (no-op when not plugged in). */
void uhci_detach(struct usb_device *ud);

#endif /* HW_USB_USB_H */
