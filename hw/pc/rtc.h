/* SPDX-License-Identifier: MIT */
/*
 * rtc.h - MC146818A real-time clock and CMOS RAM (device type "rtc"):
 * register numbers, bits and the CMOS bytes the firmware reads.
 */
#ifndef HW_PC_RTC_H
#define HW_PC_RTC_H

#include <stdint.h>

struct dev;

#define RTC_IO_BASE 0x70
#define RTC_IRQ 8
#define RTC_CMOS_SIZE 128

/* Clock registers (MC146818A datasheet, "Address Map"). */
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d

#define RTC_A_UIP 0x80
#define RTC_A_DV_MASK 0x70
#define RTC_A_RS_MASK 0x0f

#define RTC_B_SET 0x80
#define RTC_B_PIE 0x40
#define RTC_B_AIE 0x20
#define RTC_B_UIE 0x10
#define RTC_B_SQWE 0x08
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_B_DSE 0x01

#define RTC_C_IRQF 0x80
#define RTC_C_PF 0x40
#define RTC_C_AF 0x20
#define RTC_C_UF 0x10

#define RTC_D_VRT 0x80

/* PC/AT CMOS layout (IBM PC/AT Technical Reference; SeaBIOS src/hw/rtc.h). */
#define CMOS_FLOPPY_TYPES 0x10
#define CMOS_EQUIPMENT 0x14
#define CMOS_BASE_MEM_LO 0x15
#define CMOS_BASE_MEM_HI 0x16
#define CMOS_EXT_MEM_LO 0x17
#define CMOS_EXT_MEM_HI 0x18
#define CMOS_CHECKSUM_HI 0x2e
#define CMOS_CHECKSUM_LO 0x2f
#define CMOS_EXT_MEM2_LO 0x30
#define CMOS_EXT_MEM2_HI 0x31
#define CMOS_CENTURY 0x32
#define CMOS_PS2_CENTURY 0x37 /* IBM PS/2 copy of the century */
#define CMOS_MEM_ABOVE_16M_LO 0x34
#define CMOS_MEM_ABOVE_16M_HI 0x35
#define CMOS_BOOT_FLAGS1 0x38  /* third boot device << 4, bit 0: skip floppy check */
#define CMOS_BOOT_FLAGS2 0x3d  /* first | second << 4 */
#define CMOS_MEM_ABOVE_4G 0x5b /* three bytes, 64 KiB units */
#define CMOS_NB_CPUS 0x5f      /* vCPUs - 1 */

/*
 * Guest clock minus host clock (UTC, or local time with -localtime) in
 * seconds, -rtc-offset included: the value a toolstack passes back as
 * -rtc-offset to keep a guest's clock setting across restarts.
 */
int64_t rtc_offset_get(struct dev *d);

#endif /* HW_PC_RTC_H */
