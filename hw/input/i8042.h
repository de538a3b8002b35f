/* SPDX-License-Identifier: MIT */
/*
 * i8042.h - the PC keyboard controller device ("i8042"): data port 0x60,
 * status/command port 0x64, IRQ1 (keyboard) and IRQ12 (aux/mouse), with a
 * PS/2 keyboard and mouse attached.  Registers itself with the input router
 * (ui/input.h) as the keyboard and as a relative pointer (INPUT_PRIO_PS2).
 */
#ifndef HW_INPUT_I8042_H
#define HW_INPUT_I8042_H

#include <stdbool.h>

struct dev;

/* A20 gate as last set through the output port (0xd1, 0xdd/0xdf). */
bool i8042_a20_enabled(struct dev *d);

#endif /* HW_INPUT_I8042_H */
