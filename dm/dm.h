/* SPDX-License-Identifier: MIT */
/*
 * dm.h - one device-model instance: the state every subsystem reaches through
 * `struct dm *`.  There is no global dm; hw/ code gets it from its struct dev.
 *
 * A dm is either attached to a hypervisor (setup socket, ioreq pages,
 * eventfds) or standalone (unit tests: RAM from malloc, IRQ levels only
 * recorded, stepped clock).
 */
#ifndef DM_DM_H
#define DM_DM_H

#include <stdbool.h>
#include <stdint.h>

#include "hvm/setup.h"
#include "clock.h"
#include "gmem.h"
#include "iospace.h"
#include "irq.h"
#include "opts.h"

struct dev;
struct dm_loop;
struct io_map;
struct dm_ioreq;
struct hvlink;
struct input_router;
struct console;
struct vnc;
struct dm_qmp;
struct pc_machine;

/* PCI configuration space access (IOREQ_TYPE_PCI_CONFIG and CF8/CFC), set by hw/pci. */
struct pci_cfg_ops {
	uint32_t (*read)(void *opaque, uint32_t sbdf, uint32_t reg, unsigned size);
	void (*write)(void *opaque, uint32_t sbdf, uint32_t reg, uint32_t val, unsigned size);
};

/* Machine-level settings from the command line, read by the machine builder. */
struct dm_config {
	uint32_t domid;
	char *name;			/* -domain-name */
	uint64_t ram_mb;		/* -m */
	uint32_t vcpus;			/* -vcpus */
	char *setup_path;		/* -setup: hvmhv's socket */
	char *log_path;			/* -log */
	char *qmp_path;			/* -qmp */
	char *boot;			/* -boot, e.g. "cda" */
	bool acpi;			/* -acpi */
	bool localtime;			/* -localtime */
	int64_t rtc_offset;		/* -rtc-offset seconds */
	char *uuid;			/* -uuid */
	char *bios;			/* -bios */
	char *kernel, *initrd, *append; /* direct Linux boot */
	char *serial[4];		/* -serial, up to COM4 */
	unsigned nr_serial;
	char *drive[4];	    /* IDE hda-hdd: "file=,format=,media=,readonly=,snapshot=" */
	char *floppy[2];    /* fda, fdb: same form */
	bool usb;	    /* -usb: the PIIX3's UHCI controller at 00:01.2 */
	char *usbdevice[4]; /* -usbdevice: "tablet" */
	unsigned nr_usbdevice;
	char *extra_devices[32]; /* -device TYPE[,opts] */
	unsigned nr_extra_devices;
	char *machine;		 /* -M: "pc" (default; "xenfv" is an alias) or "none" */
	char *vga;		 /* -vga cirrus|std|none (-std-vga = std); NULL: cirrus */
	uint64_t videoram_mb;	 /* -videoram; 0: device default */
	char *vnc;		 /* -vnc ADDR:DISPLAY[,password] or "none"; NULL: no VNC */
	bool vncunused;		 /* -vncunused */
	char *vnc_password_file; /* -vnc-password-file: first line is the password */
	char *keymap;		 /* -k */
	char *debugcon;		 /* -debugcon SPEC: port 0xE9 output to a character backend */
	char *debug;		 /* -debug MODULES */
	char *pidfile;
	bool nographic;
};

#define DM_MAX_STOPPED_HOOKS 4

struct dm {
	struct dm_config cfg;
	struct dm_loop *loop;
	struct dm_clock *clock;
	struct gmem mem;
	void *standalone_ram; /* RAM of a standalone dm (malloc), NULL when attached */
	struct io_map *space[IO_NR_SPACES];
	struct dev *devices;
	struct dev **devices_tail;

	/* PCI config handler (NULL until hw/pci installs one). */
	const struct pci_cfg_ops *pci_ops;
	void *pci_opaque;

	/* Interrupt state (irq.c). */
	struct hvm_irq_page *irq_page;
	uint32_t irq_sources[DM_MAX_GSIS]; /* asserted sources per GSI */
	uint32_t irq_level_triggered;	   /* bit per GSI */
	int irq_fd[DM_MAX_GSIS];	   /* -1 when standalone */
	int resample_fd[DM_MAX_GSIS];
	bool irq_resample_mode;
	/*
	 * Set by ioreq.c while it handles a synchronous request: the waiting
	 * vCPU takes line changes at the response (hvm_irq_page.hv_takes_lines).
	 */
	bool irq_in_request;
	uint32_t irq_rises; /* rising edges of any GSI so far (ioreq.c's spin after one) */
	struct hvm_irq_page irq_page_local; /* used when standalone */

	/* Hypervisor link (hvlink.c); setup_sock < 0 when standalone. */
	int setup_sock;
	struct hvm_setup_info info;
	struct dm_ioreq *ioreq;
	struct hvlink *hvlink;
	uint32_t next_seq;

	int shutdown_reason; /* -1 until a shutdown was requested */
	bool paused;

	/* Hooks installed by devices (NULL when absent). */
	void (*powerdown)(void *opaque); /* ACPI power button (hw/pci PM) */
	void *powerdown_opaque;
	struct input_router *input; /* keyboard/pointer router (ui/input.c) */
	struct console *console;    /* display mediator (ui/console.c), NULL until used */
	struct vnc *vnc;	    /* VNC server (ui/vnc.c), NULL when off */
	struct dm_qmp *qmp;	    /* monitor (dm/qmp.c) */
	struct pc_machine *machine; /* machine-wide state (hw/pc/pc.c) */
	/*
	 * Called after a synchronous request while the guest is stopped and
	 * the buffered ring is empty (ioreq_guest_stopped()), whichever device
	 * answered it: the window mirror validates there (hw/vga/vga_mirror.c).
	 */
	struct dm_stopped_hook {
		void (*fn)(void *opaque);
		void *opaque;
	} stopped_hooks[DM_MAX_STOPPED_HOOKS];
	unsigned nr_stopped_hooks;
};

/*
 * Build the machine named by -M ("pc", the default, or "none" for a bare
 * dm with only -device extras).  Implemented by hw/pc/pc.c.
 */
int pc_machine_build(struct dm *dm);

/* Defaults every dm starts from (no devices, no hypervisor, local irq page). */
void dm_init_common(struct dm *dm);
/* Standalone dm for unit tests: ram_size bytes of RAM at 0, stepped clock. */
int dm_create_standalone(uint64_t ram_size, struct dm **out);
void dm_destroy(struct dm *dm);

/* Ask the hypervisor to end the domain (enum hvm_shutdown_reason). */
void dm_request_shutdown(struct dm *dm, unsigned reason);
/* The same asked by the host (QMP system_reset): no guest SHUTDOWN/RESET event. */
void dm_request_shutdown_host(struct dm *dm, unsigned reason);
/* Reset: a reboot request, as qemu-dm under Xen does it. */
void dm_request_reset(struct dm *dm);
/* Pause/unpause the vCPUs (QMP stop/cont).  0 or -errno. */
int dm_pause(struct dm *dm, bool pause);
/* Whether the vCPUs are paused (asks the hypervisor: the toolstack may pause it too). */
bool dm_is_paused(struct dm *dm);

/* Add a stopped hook (struct dm); 0 or -ENOSPC. */
int dm_add_stopped_hook(struct dm *dm, void (*fn)(void *opaque), void *opaque);

/*
 * Map a memfd range into the guest at gpa (VRAM, option ROMs).  flags are
 * HVM_MAP_F_*.  Standalone dms refuse with -ENOTCONN.
 */
int dm_map_memfd(struct dm *dm, uint64_t gpa, uint64_t size, int fd, uint64_t offset,
		 uint32_t flags);
int dm_unmap(struct dm *dm, uint64_t gpa, uint64_t size);
/* Fetch and clear the dirty bitmap of a dirty-logged mapping (bit per 4 KiB page). */
int dm_dirty_log(struct dm *dm, uint64_t gpa, uint64_t size, uint8_t *bitmap, size_t cap);

#endif /* DM_DM_H */
