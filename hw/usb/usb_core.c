// SPDX-License-Identifier: MIT
/*
 * usb_core.c - the device side of the USB default control pipe (USB 2.0
 * sections 5.5 and 8.5.3): a control transfer is a SETUP stage, an optional
 * data stage in the direction bit 7 of bmRequestType gives, and a
 * zero-length status stage in the other direction.  The core buffers the
 * data stage (at most USB_CTRL_BUF bytes) and calls the device's control()
 * once per request: at SETUP for device-to-host requests and requests
 * without data, after the last OUT data packet otherwise.
 *
 * wLength comes from the guest: it is checked into a local and nothing is
 * stored before it fits the buffer; a larger one stalls the SETUP
 * (CVE-2020-14364, research/reliability.md).  A token that does not fit the
 * stage the pipe is in stalls and returns the pipe to idle.
 */
#include <string.h>

#include "usb/usb.h"

#define USB_REQ_SET_ADDRESS 0x05

void usb_device_init(struct usb_device *ud, const char *name, const struct usb_device_ops *ops,
		     void *opaque)
{
	memset(ud, 0, sizeof(*ud));
	ud->name = name;
	ud->ops = ops;
	ud->opaque = opaque;
	ud->new_addr = -1;
}

static void ctl_idle(struct usb_device *ud)
{
	ud->stage = USB_CTL_IDLE;
	ud->ctl_len = 0;
	ud->ctl_pos = 0;
	ud->new_addr = -1;
}

void usb_device_reset(struct usb_device *ud)
{
	ud->addr = 0;
	ud->state = USB_STATE_DEFAULT;
	ctl_idle(ud);
	if (ud->ops->reset)
		ud->ops->reset(ud);
}

void usb_wakeup(struct usb_device *ud)
{
	if (ud->host_ops && ud->host_ops->wakeup)
		ud->host_ops->wakeup(ud->host, ud);
}

void usb_data_ready(struct usb_device *ud)
{
	if (ud->host_ops && ud->host_ops->data_ready)
		ud->host_ops->data_ready(ud->host, ud);
}

static bool is_set_address(const struct usb_setup *req)
{
	return req->type == 0x00 && req->request == USB_REQ_SET_ADDRESS;
}

static int ctl_setup(struct usb_device *ud, const uint8_t *buf, size_t len)
{
	struct usb_setup req;
	int n;

	ctl_idle(ud);
	if (len != 8)
		return USB_RET_STALL;
	req.type = buf[0];
	req.request = buf[1];
	req.value = (uint16_t)(buf[2] | buf[3] << 8);
	req.index = (uint16_t)(buf[4] | buf[5] << 8);
	req.length = (uint16_t)(buf[6] | buf[7] << 8);
	if (req.length > USB_CTRL_BUF)
		return USB_RET_STALL;
	ud->setup = req;

	if (is_set_address(&req)) {
		if (req.value > 127 || req.length || ud->state == USB_STATE_CONFIGURED)
			return USB_RET_STALL;
		ud->new_addr = req.value;
		ud->stage = USB_CTL_STATUS_IN;
		return 8;
	}
	if (req.type & USB_DIR_IN) {
		n = ud->ops->control(ud, &req, ud->ctl_buf, req.length);
		if (n < 0)
			return USB_RET_STALL;
		ud->ctl_len = (uint16_t)((size_t)n < req.length ? (size_t)n : req.length);
		ud->stage = USB_CTL_DATA_IN;
		return 8;
	}
	if (req.length) {
		ud->ctl_len = req.length;
		ud->stage = USB_CTL_DATA_OUT;
		return 8;
	}
	if (ud->ops->control(ud, &req, ud->ctl_buf, 0) < 0)
		return USB_RET_STALL;
	ud->stage = USB_CTL_STATUS_IN;
	return 8;
}

static int ctl_in(struct usb_device *ud, uint8_t *buf, size_t len)
{
	size_t n;

	switch (ud->stage) {
	case USB_CTL_DATA_IN:
		n = ud->ctl_len - ud->ctl_pos;
		if (n > len)
			n = len;
		memcpy(buf, ud->ctl_buf + ud->ctl_pos, n);
		ud->ctl_pos = (uint16_t)(ud->ctl_pos + n);
		return (int)n;
	case USB_CTL_DATA_OUT:
		/* Status stage of a host-to-device request with data. */
		if (ud->ctl_pos != ud->ctl_len ||
		    ud->ops->control(ud, &ud->setup, ud->ctl_buf, ud->ctl_len) < 0) {
			ctl_idle(ud);
			return USB_RET_STALL;
		}
		ctl_idle(ud);
		return 0;
	case USB_CTL_STATUS_IN:
		if (ud->new_addr >= 0) {
			ud->addr = (uint8_t)ud->new_addr;
			ud->state = ud->addr ? USB_STATE_ADDRESS : USB_STATE_DEFAULT;
		}
		ctl_idle(ud);
		return 0;
	default:
		return USB_RET_STALL;
	}
}

static int ctl_out(struct usb_device *ud, const uint8_t *buf, size_t len)
{
	switch (ud->stage) {
	case USB_CTL_DATA_OUT:
		/* ctl_pos <= ctl_len <= USB_CTRL_BUF; more than announced is babble. */
		if (len > (size_t)(ud->ctl_len - ud->ctl_pos)) {
			ctl_idle(ud);
			return USB_RET_STALL;
		}
		memcpy(ud->ctl_buf + ud->ctl_pos, buf, len);
		ud->ctl_pos = (uint16_t)(ud->ctl_pos + len);
		return (int)len;
	case USB_CTL_DATA_IN:
		/* Status stage (the host may end the data stage early). */
		ctl_idle(ud);
		return 0;
	default:
		ctl_idle(ud);
		return USB_RET_STALL;
	}
}

int usb_handle_packet(struct usb_device *ud, uint8_t pid, uint8_t ep, uint8_t *buf, size_t len)
{
	if (ep == 0) {
		switch (pid) {
		case USB_PID_SETUP:
			return ctl_setup(ud, buf, len);
		case USB_PID_IN:
			return ctl_in(ud, buf, len);
		case USB_PID_OUT:
			return ctl_out(ud, buf, len);
		}
		return USB_RET_STALL;
	}
	if (pid == USB_PID_SETUP || ep > 15 || !ud->ops->data)
		return USB_RET_STALL;
	return ud->ops->data(ud, pid, ep, buf, len);
}
