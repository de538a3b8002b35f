// SPDX-License-Identifier: MIT
/*
 * i8042.c - Intel 8042 keyboard controller as found on PC/AT and PS/2
 * machines (IBM PS/2 Hardware Interface Technical Reference, "Keyboard/
 * Auxiliary Device Controller").  Device type "i8042".
 *
 * Emulated: the status register, the 32-byte controller RAM with the command
 * byte at 0 (0x20-0x3f read, 0x60-0x7f write), self test 0xaa, interface
 * tests 0xa9/0xab, port disable/enable 0xa7/0xa8/0xad/0xae, input/output
 * port 0xc0/0xd0/0xd1, writes to the output buffers 0xd2/0xd3, writes to the
 * aux device 0xd4, A20 through the output port (and HP's 0xdd/0xdf), the
 * reset line (0xfe pulse or output port bit 0 low -> dm_request_reset), test
 * inputs 0xe0, and set 2 -> set 1 translation of keyboard bytes (command
 * byte bit 6), applied to every byte from the keyboard as the 8042 does.
 *
 * IRQ1/IRQ12 follow the output-buffer-full state of the matching port, as the
 * 8042's OBF pins drive them; the PIC sees the rising edges.
 *
 * Not emulated: passwords (0xa4 reports none), the parity/timeout errors of a
 * real serial link, controller-specific vendor commands.  The hypervisor
 * owns guest memory, so A20 is recorded and logged, not applied.
 */
#include "i8042.h"

#include <errno.h>
#include <string.h>

#include "input.h"
#include "device.h"
#include "dm.h"
#include "iospace.h"
#include "irq.h"
#include "log.h"
#include "ps2.h"

#define KBC_MOD "i8042"
#define KBC_DATA_PORT 0x60
#define KBC_CMD_PORT 0x64
#define KBC_IRQ_KBD 1
#define KBC_IRQ_AUX 12
#define KBC_REPLY_QUEUE 8

/* Status register (port 0x64 read). */
#define KBC_STAT_OBF 0x01
#define KBC_STAT_IBF 0x02
#define KBC_STAT_SYS 0x04
#define KBC_STAT_CMD 0x08 /* last write went to 0x64 */
#define KBC_STAT_UNLOCKED 0x10
#define KBC_STAT_AUXOBF 0x20

/* Command byte (controller RAM 0). */
#define KBC_CB_KBD_INT 0x01
#define KBC_CB_AUX_INT 0x02
#define KBC_CB_SYS 0x04
#define KBC_CB_KBD_DISABLE 0x10
#define KBC_CB_AUX_DISABLE 0x20
#define KBC_CB_XLAT 0x40

/* Output port. */
#define KBC_OUT_RESET 0x01 /* low = CPU reset asserted */
#define KBC_OUT_A20 0x02
#define KBC_OUT_KBD_OBF 0x10
#define KBC_OUT_AUX_OBF 0x20

struct kbc_reply {
	uint8_t val;
	bool aux;
};

struct i8042 {
	struct dm *dm;
	struct io_region data_io, cmd_io;
	struct irq_line irq_kbd, irq_aux;
	struct ps2_kbd kbd;
	struct ps2_mouse mouse;
	struct input_sink *kbd_sink, *ptr_sink;

	uint8_t ram[32]; /* ram[0] is the command byte */
	bool sys_flag;
	uint8_t pending; /* controller command waiting for a data byte, 0 if none */
	uint8_t outport;
	bool a20;

	uint8_t obuf; /* output buffer (port 0x60) */
	bool obf, obf_aux;
	bool xlat_break; /* translation saw 0xf0: OR 0x80 into the next byte */

	/* Replies of the controller itself, ahead of device data. */
	struct kbc_reply replies[KBC_REPLY_QUEUE];
	unsigned nreplies;
	bool inited;
};

/* ---- output buffer and interrupts ------------------------------------- */

static void kbc_update_irq(struct i8042 *s)
{
	irq_set(&s->irq_kbd, s->obf && !s->obf_aux && (s->ram[0] & KBC_CB_KBD_INT));
	irq_set(&s->irq_aux, s->obf && s->obf_aux && (s->ram[0] & KBC_CB_AUX_INT));
}

static bool kbc_take_reply(struct i8042 *s)
{
	if (!s->nreplies)
		return false;
	s->obuf = s->replies[0].val;
	s->obf_aux = s->replies[0].aux;
	s->nreplies--;
	memmove(&s->replies[0], &s->replies[1], s->nreplies * sizeof(s->replies[0]));
	return true;
}

/* Pull one keyboard byte, translating when the command byte asks for it. */
static bool kbc_take_kbd(struct i8042 *s)
{
	unsigned guard;

	if (s->ram[0] & KBC_CB_KBD_DISABLE)
		return false; /* clock line held: the byte waits in the keyboard */
	for (guard = 0; guard < PS2_QUEUE_SIZE; guard++) {
		int v = ps2_kbd_read(&s->kbd);

		if (v < 0)
			return false;
		if (!(s->ram[0] & KBC_CB_XLAT)) {
			s->obuf = (uint8_t)v;
		} else if (v == 0xf0) {
			s->xlat_break = true;
			continue;
		} else {
			s->obuf = ps2_xlat((uint8_t)v) | (s->xlat_break ? 0x80 : 0);
			s->xlat_break = false;
		}
		s->obf_aux = false;
		return true;
	}
	return false;
}

static bool kbc_take_aux(struct i8042 *s)
{
	int v;

	if (s->ram[0] & KBC_CB_AUX_DISABLE)
		return false;
	v = ps2_mouse_read(&s->mouse);
	if (v < 0)
		return false;
	s->obuf = (uint8_t)v;
	s->obf_aux = true;
	return true;
}

/* Fill the output buffer if it is empty. */
static void kbc_refill(struct i8042 *s)
{
	if (!s->obf)
		s->obf = kbc_take_reply(s) || kbc_take_kbd(s) || kbc_take_aux(s);
	kbc_update_irq(s);
}

static void kbc_reply(struct i8042 *s, uint8_t v, bool aux)
{
	if (s->nreplies >= KBC_REPLY_QUEUE) {
		dm_guest_err(KBC_MOD, "controller reply queue full");
		return;
	}
	s->replies[s->nreplies].val = v;
	s->replies[s->nreplies].aux = aux;
	s->nreplies++;
	kbc_refill(s);
}

static void kbc_dev_notify(void *opaque)
{
	kbc_refill(opaque);
}

/* ---- output port: A20 and reset --------------------------------------- */

static void kbc_set_a20(struct i8042 *s, bool on)
{
	if (on != s->a20)
		dm_log_ratelimited(LOG_INFO, KBC_MOD, "A20 gate %s", on ? "enabled" : "disabled");
	s->a20 = on;
	s->outport = on ? (s->outport | KBC_OUT_A20) : (s->outport & ~KBC_OUT_A20);
}

static void kbc_write_outport(struct i8042 *s, uint8_t v)
{
	s->outport = v;
	kbc_set_a20(s, v & KBC_OUT_A20);
	if (!(v & KBC_OUT_RESET)) {
		dm_info(KBC_MOD, "system reset through the output port");
		s->outport |= KBC_OUT_RESET;
		dm_request_reset(s->dm);
	}
}

static uint8_t kbc_read_outport(const struct i8042 *s)
{
	uint8_t v = s->outport & ~(KBC_OUT_KBD_OBF | KBC_OUT_AUX_OBF);

	if (s->obf)
		v |= s->obf_aux ? KBC_OUT_AUX_OBF : KBC_OUT_KBD_OBF;
	return v;
}

/* ---- controller commands ---------------------------------------------- */

static void kbc_set_command_byte(struct i8042 *s, uint8_t v)
{
	bool xlat_was = s->ram[0] & KBC_CB_XLAT;

	s->ram[0] = v;
	s->sys_flag = v & KBC_CB_SYS;
	if (!(v & KBC_CB_XLAT) || !xlat_was)
		s->xlat_break = false;
	/* Enabling a port may release bytes that were waiting. */
	kbc_refill(s);
}

static void kbc_command(struct i8042 *s, uint8_t cmd)
{
	if (cmd >= 0x20 && cmd <= 0x3f) {
		kbc_reply(s, s->ram[cmd & 0x1f], false);
		return;
	}
	if ((cmd >= 0x60 && cmd <= 0x7f) || (cmd >= 0xd1 && cmd <= 0xd4)) {
		s->pending = cmd; /* the data byte follows on port 0x60 */
		return;
	}
	if (cmd >= 0xf0) {
		/* Pulse output port bits whose mask bit is 0: bit 0 is the reset line. */
		if (!(cmd & 0x01)) {
			dm_info(KBC_MOD, "system reset (command 0x%02x)", cmd);
			dm_request_reset(s->dm);
		}
		return;
	}
	switch (cmd) {
	case 0xa4: /* password installed? */
		kbc_reply(s, 0xf1, false);
		break;
	case 0xa7:
		s->ram[0] |= KBC_CB_AUX_DISABLE;
		break;
	case 0xa8:
		s->ram[0] &= ~KBC_CB_AUX_DISABLE;
		kbc_refill(s);
		break;
	case 0xa9: /* aux interface test: 0 = no error */
	case 0xab: /* keyboard interface test */
		kbc_reply(s, 0x00, false);
		break;
	case 0xaa: /* self test */
		s->sys_flag = true;
		kbc_reply(s, 0x55, false);
		break;
	case 0xad:
		s->ram[0] |= KBC_CB_KBD_DISABLE;
		break;
	case 0xae:
		s->ram[0] &= ~KBC_CB_KBD_DISABLE;
		kbc_refill(s);
		break;
	case 0xc0: /* input port: keyboard not inhibited, colour display */
		kbc_reply(s, 0x80, false);
		break;
	case 0xd0:
		kbc_reply(s, kbc_read_outport(s), false);
		break;
	case 0xdd:
		kbc_set_a20(s, false);
		break;
	case 0xdf:
		kbc_set_a20(s, true);
		break;
	case 0xe0: /* test inputs */
		kbc_reply(s, 0x00, false);
		break;
	default:
		dm_guest_err(KBC_MOD, "unknown controller command 0x%02x", cmd);
		break;
	}
}

static void kbc_write_data(struct i8042 *s, uint8_t v)
{
	uint8_t cmd = s->pending;

	s->pending = 0;
	if (cmd >= 0x60 && cmd <= 0x7f) {
		if (cmd == 0x60)
			kbc_set_command_byte(s, v);
		else
			s->ram[cmd & 0x1f] = v;
		return;
	}
	switch (cmd) {
	case 0xd1:
		kbc_write_outport(s, v);
		break;
	case 0xd2: /* as if the keyboard had sent it */
		kbc_reply(s, v, false);
		break;
	case 0xd3: /* as if the mouse had sent it */
		kbc_reply(s, v, true);
		break;
	case 0xd4:
		/* Talking to a device releases its clock line: the port is enabled. */
		s->ram[0] &= ~KBC_CB_AUX_DISABLE;
		ps2_mouse_write(&s->mouse, v);
		break;
	default:
		s->ram[0] &= ~KBC_CB_KBD_DISABLE;
		ps2_kbd_write(&s->kbd, v);
		break;
	}
	kbc_refill(s);
}

/* ---- ports ------------------------------------------------------------ */

static uint8_t kbc_read_status(const struct i8042 *s)
{
	uint8_t v = KBC_STAT_UNLOCKED;

	if (s->obf)
		v |= KBC_STAT_OBF | (s->obf_aux ? KBC_STAT_AUXOBF : 0);
	if (s->sys_flag)
		v |= KBC_STAT_SYS;
	/*
	 * Bit 3 latches A2 of the last write on a real 8042; QEMU reports it
	 * set always and no driver reads it, so it stays set here too.
	 */
	v |= KBC_STAT_CMD;
	return v;
}

static uint64_t kbc_data_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8042 *s = opaque;
	uint8_t v;

	(void)off;
	(void)size;
	if (!s->obf)
		return s->obuf;
	v = s->obuf;
	s->obf = false;
	kbc_update_irq(s); /* drop the line so the next byte makes a new edge */
	kbc_refill(s);
	return v;
}

static void kbc_data_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct i8042 *s = opaque;

	(void)off;
	(void)size;
	kbc_write_data(s, (uint8_t)val);
}

static uint64_t kbc_cmd_read(void *opaque, uint64_t off, unsigned size)
{
	(void)off;
	(void)size;
	return kbc_read_status(opaque);
}

static void kbc_cmd_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct i8042 *s = opaque;

	(void)off;
	(void)size;
	s->pending = 0;
	kbc_command(s, (uint8_t)val);
}

static const struct io_ops kbc_data_ops = {
	.read = kbc_data_read,
	.write = kbc_data_write,
	.min_size = 1,
	.max_size = 1,
};

static const struct io_ops kbc_cmd_ops = {
	.read = kbc_cmd_read,
	.write = kbc_cmd_write,
	.min_size = 1,
	.max_size = 1,
};

/* ---- input router sinks ----------------------------------------------- */

static void kbc_key(void *opaque, unsigned keycode, bool down)
{
	struct i8042 *s = opaque;

	ps2_kbd_key(&s->kbd, keycode, down);
}

static void kbc_pointer(void *opaque, int dx, int dy, int dz, unsigned buttons)
{
	struct i8042 *s = opaque;

	ps2_mouse_event(&s->mouse, dx, dy, dz, buttons);
}

static void kbc_leds(void *opaque, uint8_t leds)
{
	struct i8042 *s = opaque;

	input_set_leds(s->dm, leds);
}

static const struct input_kbd_ops kbc_kbd_ops = { .key = kbc_key };
static const struct input_ptr_ops kbc_ptr_ops = { .event = kbc_pointer };

/* ---- lifecycle -------------------------------------------------------- */

static void i8042_reset(struct dev *d, enum dev_reset kind)
{
	struct i8042 *s = d->state;
	/* The SYS flag tells firmware that this is a warm boot. */
	bool sys = kind == DEV_RESET_WARM && s->sys_flag;

	memset(s->ram, 0, sizeof(s->ram));
	s->ram[0] = KBC_CB_KBD_INT | KBC_CB_AUX_INT;
	s->sys_flag = sys;
	s->pending = 0;
	/* Reset high, A20 on, keyboard clock and data lines high (bits 6, 7), as QEMU. */
	s->outport = 0xcf;
	s->a20 = true;
	s->obuf = 0;
	s->obf = false;
	s->obf_aux = false;
	s->xlat_break = false;
	s->nreplies = 0;
	ps2_kbd_reset(&s->kbd);
	ps2_mouse_reset(&s->mouse);
	kbc_update_irq(s);
}

static int i8042_create(struct dev *d, const struct opts *o)
{
	struct i8042 *s = d->state;
	int rc;

	(void)o;
	s->dm = d->dm;
	irq_line_init(&s->irq_kbd, d->dm, KBC_IRQ_KBD);
	irq_line_init(&s->irq_aux, d->dm, KBC_IRQ_AUX);
	ps2_kbd_init(&s->kbd, kbc_dev_notify, s);
	s->kbd.leds_changed = kbc_leds;
	ps2_mouse_init(&s->mouse, kbc_dev_notify, s);
	s->inited = true;
	i8042_reset(d, DEV_RESET_COLD);

	io_region_init(&s->data_io, &kbc_data_ops, s, "i8042-data", 1);
	io_region_init(&s->cmd_io, &kbc_cmd_ops, s, "i8042-cmd", 1);
	rc = io_region_map(d->dm, &s->data_io, IO_PIO, KBC_DATA_PORT);
	if (!rc)
		rc = io_region_map(d->dm, &s->cmd_io, IO_PIO, KBC_CMD_PORT);
	if (rc) {
		dm_err(KBC_MOD, "ports 0x60/0x64 are taken");
		return rc;
	}
	rc = input_register_kbd(d->dm, "ps2-kbd", &kbc_kbd_ops, s, &s->kbd_sink);
	if (!rc)
		rc = input_register_pointer(d->dm, "ps2-mouse", INPUT_PRIO_PS2, false, &kbc_ptr_ops,
					    s, &s->ptr_sink);
	return rc;
}

static void i8042_destroy(struct dev *d)
{
	struct i8042 *s = d->state;

	input_unregister(s->ptr_sink);
	input_unregister(s->kbd_sink);
	s->ptr_sink = s->kbd_sink = NULL;
	io_region_unmap(&s->data_io);
	io_region_unmap(&s->cmd_io);
	if (s->inited) {
		irq_set(&s->irq_kbd, false);
		irq_set(&s->irq_aux, false);
	}
}

static const struct dev_type i8042_type = {
	.name = "i8042",
	.state_size = sizeof(struct i8042),
	.create = i8042_create,
	.reset = i8042_reset,
	.destroy = i8042_destroy,
};
DM_DEVICE(i8042_type);

bool i8042_a20_enabled(struct dev *d)
{
	if (!d || d->type != &i8042_type)
		return false;
	return ((struct i8042 *)d->state)->a20;
}
