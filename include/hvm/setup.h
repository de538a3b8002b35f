/* SPDX-License-Identifier: MIT */
/*
 * setup.h - the setup protocol between the hypervisor (hvmhv) and the device
 * model (hvmdm), and between the toolstack and hvmhv.
 *
 * Transport: an AF_UNIX SOCK_SEQPACKET socket on which hvmhv listens (path
 * from `hvmhv -setup PATH`).  Every message is one packet: a struct hvm_msg
 * header followed by `len` payload bytes; file descriptors travel with it as
 * SCM_RIGHTS.  Requests carry a sequence number that the reply repeats; a
 * reply's `status` is 0 or -errno.
 *
 * Session (device model):
 *   dm -> hv  HELLO {version, domid}
 *   hv -> dm  HELLO reply: struct hvm_setup_info, fds in HVM_FD_* order
 *   dm -> hv  SET_BUFFERED, SET_BUFFERED_PIO, SET_URGENT_PIO, SET_PIO_MIRROR,
 *             SET_MMIO_MIRROR, SET_PIO_EFFECTS, SET_PIO_BUSY,
 *             MAP/UNMAP/DIRTY_LOG, SHUTDOWN, PAUSE/UNPAUSE, READY
 *   hv -> dm  CLOCK_SET (only with HVM_SETUP_F_CLOCK_STEPPED; the dm replies
 *             once every timer up to that time has fired)
 *
 * The hypervisor starts the vCPUs only after the dm sends READY, so no I/O is
 * lost while devices are being created.  If the dm's connection closes, every
 * outstanding and future request completes with all-ones (reads) and is
 * dropped (writes); the hypervisor logs it and the domain is reported crashed.
 *
 * Toolstack sessions use PAUSE, UNPAUSE, QUERY and DESTROY on a fresh
 * connection without HELLO.
 *
 * Pages the dm writes: after the dm stores into guest RAM (DMA, fw_cfg) it
 * sets the page's bit in the HVM_FD_WRITTEN bitmap (atomic OR, after the
 * store), indexed by RAM-memfd offset / 4096, and then adds one to
 * hvm_irq_page.written_seq.  With one vCPU the software CPU reads and clears
 * the bitmap whenever that count moved, to drop translated code of pages
 * changed behind its back; the KVM backend ignores both.
 *
 * Interrupt lines: one eventfd per GSI, plus one shared page (struct
 * hvm_irq_page) where the dm publishes the level of every line and counts
 * rising edges.  With HVM_SETUP_F_IRQ_RESAMPLE (KVM irqfd + resamplefd) the dm
 * signals a GSI's eventfd only on a rising edge, and again when the resample
 * eventfd fires (guest EOI) while a level-triggered line is still high.
 * Without it (emulated interrupt controllers, test harness) the dm signals the
 * eventfd on every change and the reader takes the level from the page,
 * except for changes it makes while handling a synchronous request when the
 * hv set hvm_irq_page.hv_takes_lines: the waiting vCPU takes those from the
 * page after the response (an IDE status read that lowers INTRQ costs no
 * eventfd write and no wake-up of the hv's interrupt thread).
 */
#ifndef HVM_SETUP_H
#define HVM_SETUP_H

#include <stddef.h>
#include <stdint.h>

#define HVM_SETUP_VERSION 1
#define HVM_MSG_MAX_PAYLOAD 65536
#define HVM_MSG_MAX_FDS 200
#define HVM_MAX_VCPUS 64 /* bounded by fds per message, below IOREQ_MAX_VCPUS */
#define HVM_NR_GSIS 24

enum hvm_msg_type {
	HVM_MSG_HELLO = 1,     /* dm -> hv: struct hvm_hello; reply hvm_setup_info + fds */
	HVM_MSG_READY = 2,     /* dm -> hv: devices exist, start the vCPUs */
	HVM_MSG_MAP = 3,       /* dm -> hv: struct hvm_map + memfd */
	HVM_MSG_UNMAP = 4,     /* dm -> hv: struct hvm_map (gpa, size) */
	HVM_MSG_DIRTY_LOG = 5, /* dm -> hv: struct hvm_map (gpa); reply: bitmap, one bit per page */
	HVM_MSG_SET_BUFFERED = 6,      /* dm -> hv: struct hvm_range of MMIO writes to buffer */
	HVM_MSG_SHUTDOWN = 7,	       /* dm -> hv: struct hvm_shutdown */
	HVM_MSG_PAUSE = 8,	       /* any -> hv */
	HVM_MSG_UNPAUSE = 9,	       /* any -> hv */
	HVM_MSG_QUERY = 10,	       /* any -> hv: reply struct hvm_status */
	HVM_MSG_DESTROY = 11,	       /* toolstack or dm (QMP quit) -> hv: stop the domain now */
	HVM_MSG_CLOCK_SET = 12,	       /* hv -> dm: struct hvm_clock; reply struct hvm_clock */
	HVM_MSG_SET_BUFFERED_PIO = 13, /* dm -> hv: struct hvm_range[] of ports, see below */
	HVM_MSG_SET_URGENT_PIO = 14,   /* dm -> hv: struct hvm_range[] of ports, see below */
	HVM_MSG_SET_PIO_MIRROR = 15,   /* dm -> hv: struct hvm_range[] + mirror page memfd */
	HVM_MSG_SET_MMIO_MIRROR = 16,  /* dm -> hv: struct hvm_mmio_mirror_set + image memfd */
	HVM_MSG_SET_PIO_EFFECTS = 17,  /* dm -> hv: struct hvm_pio_effect[], see below */
	HVM_MSG_SET_PIO_BUSY = 18,     /* dm -> hv: struct hvm_pio_busy[], see below */
};

struct hvm_msg {
	uint32_t type;	/* enum hvm_msg_type */
	uint32_t len;	/* payload bytes that follow */
	uint32_t seq;	/* chosen by the requester, echoed in the reply */
	int32_t status; /* replies: 0 or -errno; requests: 0 */
};
_Static_assert(sizeof(struct hvm_msg) == 16, "hvm_msg header");

struct hvm_hello {
	uint32_t version; /* HVM_SETUP_VERSION */
	uint32_t domid;
};

/* Flags in hvm_setup_info.flags. */
#define HVM_SETUP_F_IRQ_RESAMPLE 0x1  /* GSI eventfds are KVM irqfds with resamplefds */
#define HVM_SETUP_F_CLOCK_STEPPED 0x2 /* dm virtual clock moves only on CLOCK_SET */
#define HVM_SETUP_F_ACCEL_EMU 0x4     /* informational: vCPUs run on the software CPU */

/*
 * Guest RAM is one memfd: bytes [0, ram_below_4g) appear at guest-physical 0,
 * bytes [ram_below_4g, ram_below_4g + ram_above_4g) at 4 GiB.  The bounce
 * memfd holds one page per vCPU at guest-physical bounce_gpa + vcpu * 4096:
 * string I/O from the KVM backend (whose data KVM hands over in the vCPU's run
 * page, not in guest memory) points `data` there.  bounce_gpa lies above any
 * address a guest can generate.
 */
struct hvm_setup_info {
	uint32_t version;
	uint32_t flags; /* HVM_SETUP_F_* */
	uint32_t nr_vcpus;
	uint32_t nr_gsis;
	uint64_t ram_below_4g;
	uint64_t ram_above_4g;
	uint64_t bounce_gpa;
};
_Static_assert(sizeof(struct hvm_setup_info) == 40, "hvm_setup_info");

#define HVM_BOUNCE_GPA (1ull << 60)

/* File descriptors of the HELLO reply, in this order. */
enum {
	HVM_FD_RAM = 0,	      /* guest RAM memfd */
	HVM_FD_IOREQ_PAGE,    /* struct shared_iopage memfd */
	HVM_FD_BUFIOREQ_PAGE, /* struct buffered_iopage memfd */
	HVM_FD_BOUNCE,	      /* nr_vcpus pages */
	HVM_FD_IRQ_PAGE,      /* struct hvm_irq_page memfd */
	HVM_FD_REQ_EVENT,     /* eventfd hv -> dm: some slot became READY */
	HVM_FD_BUF_EVENT,     /* eventfd hv -> dm: buffered ring advanced */
	HVM_FD_WRITTEN,	      /* memfd bitmap: bit per 4 KiB page of the RAM memfd, set by the dm */
	HVM_FD_FIXED_COUNT,
	/* then nr_vcpus response eventfds (dm -> hv, one per vCPU),
	 * then nr_gsis irq eventfds, then nr_gsis resample eventfds (hv -> dm). */
};

static inline unsigned hvm_fd_resp(unsigned vcpu)
{
	return HVM_FD_FIXED_COUNT + vcpu;
}

static inline unsigned hvm_fd_irq(const struct hvm_setup_info *si, unsigned gsi)
{
	return HVM_FD_FIXED_COUNT + si->nr_vcpus + gsi;
}

static inline unsigned hvm_fd_resample(const struct hvm_setup_info *si, unsigned gsi)
{
	return HVM_FD_FIXED_COUNT + si->nr_vcpus + si->nr_gsis + gsi;
}

static inline unsigned hvm_fd_total(const struct hvm_setup_info *si)
{
	return HVM_FD_FIXED_COUNT + si->nr_vcpus + 2 * si->nr_gsis;
}

/*
 * Written only by the dm, with atomic operations; read by the hv.  The
 * polling hints at the end are not Xen ABI (Xen has no equivalent): they let
 * either side skip an eventfd write while the other one is spinning on the
 * ioreq page instead of sleeping, the NEED_WAKEUP idea of io_uring's SQ
 * polling.  The protocol is Dekker's: the waiter stores its flag, and before
 * it sleeps clears it, issues a full fence and looks at the slot once more;
 * the notifier publishes the slot state, issues a full fence, then reads the
 * flag and writes the eventfd only when it is clear.  A hint that lies
 * (hostile dm) only costs its own wake-ups, never the hv's.
 */
struct hvm_irq_page {
	uint32_t level[8]; /* bit g%32 of word g/32: GSI g is asserted */
	uint32_t pad[8];
	uint32_t edges[256]; /* free-running count of rising edges per GSI */
	uint32_t dm_polling; /* dm: nonzero while it watches the slots (skip REQ_EVENT) */
	uint32_t pad2[15];
	/* hv: nonzero while vCPU i spins on its slot (skip its response eventfd) */
	uint32_t vcpu_polling[HVM_MAX_VCPUS];
	/* dm: goes up (atomic add, release) after it sets bits in HVM_FD_WRITTEN */
	uint32_t written_seq;
	/*
	 * hv: nonzero when the vCPU whose synchronous request the dm answers
	 * takes the lines from this page (level, edges) after the response and
	 * before it runs on, as the emulator's does.  The dm then need not write
	 * a GSI's eventfd for a line it moves while it handles a synchronous
	 * request (a status read lowering the interrupt it acknowledges): it
	 * bumps quiet_lines instead, before the response.  Zero under KVM, whose
	 * irqfds must see every change.
	 */
	uint32_t hv_takes_lines;
	/* dm: goes up (atomic add) after each such unsignalled change */
	uint32_t quiet_lines;
	/*
	 * hv: nonzero while vCPU i runs guest code and takes the lines from
	 * this page whenever quiet_lines moved, at least every few
	 * microseconds (the emulator checks at its event polls, every 512
	 * instructions or so).  The dm need not write a GSI's eventfd then,
	 * whatever moved the line: it bumps quiet_lines, issues a full fence
	 * and reads these flags, and signals only when all are clear; a vCPU
	 * that stops watching clears its flag, fences and then looks at
	 * quiet_lines (Dekker's protocol, as the polling hints above).  An IDE
	 * completion then reaches a busy vCPU without waking a thread of the
	 * hv.  Zero under KVM.
	 */
	uint32_t vcpu_watching[HVM_MAX_VCPUS];
};
_Static_assert(offsetof(struct hvm_irq_page, dm_polling) % 64 == 0, "own cache line");
_Static_assert(sizeof(struct hvm_irq_page) <= 4096, "hvm_irq_page fits a page");

#define HVM_MAP_F_READONLY 0x1
#define HVM_MAP_F_DIRTY_LOG 0x2

struct hvm_map {
	uint64_t gpa;	 /* page aligned */
	uint64_t size;	 /* page multiple */
	uint64_t offset; /* into the memfd, page aligned */
	uint32_t flags;	 /* HVM_MAP_F_* */
	uint32_t pad;
};

struct hvm_range {
	uint64_t start;
	uint64_t len;
};

/*
 * SET_BUFFERED_PIO: the payload is 0 to HVM_BUFFERED_PIO_MAX_RANGES struct
 * hvm_range of I/O ports (start + len <= 0x10000) whose writes only latch a
 * value (IDE taskfile registers, a bus master's PRD table address): the
 * device answers nothing and starts nothing when they are written.  Each
 * message replaces the previous set; an empty payload clears it.  The hv
 * then may send a single (not string) port write that lies wholly inside
 * the set through the buffered ring (type IOREQ_TYPE_PIO, addr = port)
 * instead of the vCPU's slot, and continue the vCPU without waiting.  Port
 * reads and every other port write stay synchronous.  The dm must apply
 * the buffered ring before it handles any synchronous request (the rule in
 * ioreq.h; it must look for READY slots first and drain second, so a write
 * queued just before the request is not missed), which keeps the order the
 * guest issued them in.  Compatibility: an hv that predates this message
 * replies -ENOSYS and buffers no port writes; a dm that never sends it gets
 * none buffered.  Bad ranges or too many: -EINVAL, the set is unchanged.
 */
#define HVM_BUFFERED_PIO_MAX_RANGES 16

/*
 * SET_URGENT_PIO: the payload is 0 to HVM_BUFFERED_PIO_MAX_RANGES struct
 * hvm_range of I/O ports whose writes start something but return nothing
 * to the vCPU (an ATA command register, a bus master's start/stop bit).
 * The hv signals the buffered event at once after posting a write that
 * touches one of them, instead of lazily (include/hvm/ioreq.h,
 * HVM_BUF_IDLE_NS), so the dm starts the work within one wake-up.  The set
 * only changes how a posted write is signalled; which writes are posted is
 * still the SET_BUFFERED_PIO set, so a dm lists an urgent port in both.
 * Same replace/clear/-EINVAL rules as SET_BUFFERED_PIO.
 *
 * Why posting such a write is invisible to the guest (besides latency, which
 * real devices have too): a posted write acts as if it reached the device
 * later, when the dm applies it, but before anything the guest does next
 * can observe the device; the guest learns what a command did only through
 *   - a port read: a read is synchronous while the buffered ring holds
 *     anything, and the dm applies the ring before it answers (so a status
 *     or alternate-status read right after an ATA command sees BSY or the
 *     result, exactly as after a synchronous write); a read answered from
 *     the PIO mirror (below) is answered only once the ring is empty (or
 *     holds only writes SET_PIO_EFFECTS says cannot change it), i.e.
 *     after the dm applied the command and published what it changed;
 *   - a port write: synchronous writes also wait for the ring to drain,
 *     posted ones queue behind it in issue order;
 *   - an interrupt or a DMA into guest RAM: both are asynchronous for a
 *     synchronous command write too (the dm raises them from block-layer
 *     completions), so the guest already copes with any delay.
 * Device events that the dm runs in between (a DMA completing, a timer)
 * therefore happen "before" the write, a timing the guest could not have
 * excluded either: to tell that an event came after its write it would have
 * to observe the device after the write and before the event, and any read
 * after the write drains the ring first.  (A command
 * written while the device is still BSY, which ATA forbids but for DEVICE
 * RESET, may so find it ready and run instead of being ignored.)
 * The one difference: an ATA command write lowers a pending INTRQ, and a
 * posted one does so a wake-up later.  The PIIX IDE channels here are in
 * legacy mode, whose IRQ 14/15 are edge-triggered ISA lines, so a late
 * lowering cannot re-raise anything; a level-triggered user would have to
 * keep the write synchronous.  If the dm is gone the write is not posted
 * (the hv completes it locally, as any request).
 * Compatibility: an hv that predates this message replies -ENOSYS; the dm
 * then leaves the urgent ports out of its SET_BUFFERED_PIO set (they stay
 * synchronous), because a lazily signalled command could wait up to
 * HVM_BUF_IDLE_NS for the dm.  The dm sends SET_URGENT_PIO before the
 * SET_BUFFERED_PIO that adds the ports.
 */

/*
 * SET_PIO_MIRROR: reads answered by hvmhv from a page the dm keeps current.
 * The payload is 0 to HVM_PIO_MIRROR_MAX_PORTS struct hvm_range, each one
 * register (len 1, 2 or 4; ranges must not overlap and stay below 0x10000)
 * whose reads have no side effect; range i's value lives in word i of
 * struct hvm_pio_mirror_page.  The message carries one file descriptor: a
 * memfd of at least 4096 bytes sealed with F_SEAL_SHRINK (so the hv's
 * mapping can never fault).  The hv maps the first such page it accepts,
 * read-only, for the rest of the domain; fds sent with later messages are
 * closed unused, and later messages may carry none.  Each message replaces
 * the set; an empty payload clears it.  Errors: -EINVAL (bad ranges, no or
 * bad page on the first message; the set is unchanged), -ENOSYS from an hv
 * that predates it (the dm then keeps every read synchronous).
 *
 * The hv answers a port read from word i only when all of these hold:
 *   - it is a single read (not string I/O) lying wholly inside range i;
 *   - the buffered ring is empty (read_pointer == write_pointer, one
 *     acquire load of both), so every write posted before this read has
 *     been applied by the dm (the dm advances read_pointer only after it
 *     applied a write, with a release store); otherwise the read goes
 *     synchronous, and the dm drains the ring before answering it
 *     (SET_PIO_EFFECTS below relaxes this to the writes that may change
 *     the register);
 *   - the word (one atomic 64-bit acquire load) has HVM_PIO_MIRROR_VALID
 *     and names a port and width (1, 2 or 4) that cover the read, so a
 *     word already rewritten for another register while the hv still
 *     uses the previous set is never taken for this one.
 * The dm stores a word with release semantics after the device state it
 * reflects changed and before it raises any interrupt or answers any
 * request that makes the change observable; the hv's acquire loads pair
 * with those stores (and with the ring's and slots' release/acquire).  A
 * register the dm cannot keep current at every change must not be listed
 * (a data port).  One whose reads have a side effect only at times is
 * listed with its word cleared (no HVM_PIO_MIRROR_VALID) whenever a read
 * would have one, cleared before the change that gives it one is
 * observable (IDE status: valid only while no interrupt is pending, since
 * reading it clears INTRQ).  Before a mapped register moves or disappears
 * the dm clears or rewrites its word.
 */
#define HVM_PIO_MIRROR_MAX_PORTS 64
#define HVM_PIO_MIRROR_VALID (1ull << 63)
/* Word: bits 0-31 value (little-endian register bytes), 32-47 port, 48-50 width. */
#define HVM_PIO_MIRROR_WORD(port, width, val)                                                   \
	(HVM_PIO_MIRROR_VALID | (uint64_t)((width)&7) << 48 | (uint64_t)((port)&0xffff) << 32 | \
	 (uint64_t)(uint32_t)(val))
#define HVM_PIO_MIRROR_PORT(w) ((uint32_t)((w) >> 32) & 0xffff)
#define HVM_PIO_MIRROR_WIDTH(w) ((uint32_t)((w) >> 48) & 7)
#define HVM_PIO_MIRROR_VALUE(w) ((uint32_t)(w))

struct hvm_pio_mirror_page {
	uint64_t word[512]; /* only the first HVM_PIO_MIRROR_MAX_PORTS are used */
};
_Static_assert(sizeof(struct hvm_pio_mirror_page) == 4096, "hvm_pio_mirror_page is one page");

/*
 * SET_PIO_EFFECTS: which mirror words a posted port write may change, so
 * that a mirrored read need not wait for writes that cannot change it.
 * The payload is 0 to HVM_PIO_EFFECTS_MAX struct hvm_pio_effect, port
 * ranges that do not overlap and stay below 0x10000: a posted (or urgent)
 * write to a port in entry i changes, as far as any later read of the
 * guest can tell, at most the words whose bits are set in words (bit w:
 * word w of the mirror page, i.e. range w of the current SET_PIO_MIRROR
 * set; 0: none; HVM_PIO_EFFECT_ANY: any).  A write to a port no entry
 * covers may change any word.
 * "As far as a read can tell": a change the device would show only after
 * some time anyway (a transfer that a DMA start begins and that ends with
 * an interrupt) may be shown later; the hv may then answer a read from a
 * word before the dm applied the write, as if the read came first.
 * quiet_mask (entries of one port only; 0: none): a one-byte write whose
 * bits in quiet_mask equal those of the previous write to the port changes
 * nothing.  The dm promises that those bits of the register change only
 * through writes to the port, through synchronous writes (to any port) and
 * through posted writes to ports no entry covers; the hv forgets the
 * previous value at each of these, and when a set changes.  (So a port
 * whose writes may change them stays out of the set.)
 * (IDE: the device register's drive select bit, which libata rewrites
 * unchanged before every command.)
 * The hv relaxes the rule of SET_PIO_MIRROR accordingly: a read of word w
 * is answered from the page when every write in the ring that may change
 * word w has been applied (read_pointer passed it), not only when the ring
 * is empty.  Each message replaces the set; an empty payload clears it;
 * SET_PIO_MIRROR clears it too (word numbers change), so the dm sends its
 * effects after each mirror set.  Writes posted before a set changes are
 * taken to change every word.  Errors: -EINVAL (bad or overlapping ranges,
 * a quiet_mask on a range, reserved bits, too many; the set is unchanged),
 * -ENOSYS from an hv that predates it (the dm then leaves it: every posted
 * write holds back every mirrored read).
 */
#define HVM_PIO_EFFECTS_MAX 32
#define HVM_PIO_EFFECT_ANY (~0ull)

struct hvm_pio_effect {
	uint32_t start;	     /* first port */
	uint32_t len;	     /* ports, 1 or more */
	uint64_t words;	     /* bit w: mirror word w may change */
	uint32_t quiet_mask; /* see above; len 1 only */
	uint32_t reserved;   /* 0 */
};

/*
 * SET_PIO_BUSY: what a device shows until it has taken a posted command.
 * The payload is 0 to HVM_PIO_BUSY_MAX struct hvm_pio_busy: while a posted
 * (or urgent) write that covers `port` is still in the buffered ring (the
 * dm has not consumed it), a single one-byte read of a port in
 * reads[0..nr_reads) may be answered `value` by the hv without a request.
 * (IDE: after a command write, status and alternate status read BSY until
 * the device has taken the command; drivers poll them until BSY clears, and
 * the first read after the dm applied the write sees the real status.  So
 * the alternate-status read libata makes right after every command no
 * longer waits for the dm to wake up and take the command.)  The dm
 * promises that the device could have answered `value` to such a read at
 * any moment between the write and the dm applying it, and that the read
 * has no side effect the write does not also have (reading IDE status
 * clears INTRQ; so does writing a command).  Writes posted before a set is
 * installed do not count.  Independent of the PIO mirror: the reads need
 * not be mirrored.  Each message replaces the set; an empty payload clears
 * it.  Errors: -EINVAL (a port above 0xffff, nr_reads 0 or above
 * HVM_PIO_BUSY_READS, reserved bits, two entries for one port, too many;
 * the set is unchanged), -ENOSYS from an hv that predates it (such reads
 * then wait for the dm as before).
 */
#define HVM_PIO_BUSY_MAX 8
#define HVM_PIO_BUSY_READS 4

struct hvm_pio_busy {
	uint16_t port;	  /* the written port */
	uint8_t value;	  /* what the reads answer */
	uint8_t nr_reads; /* 1 to HVM_PIO_BUSY_READS */
	uint16_t reads[HVM_PIO_BUSY_READS];
	uint32_t reserved; /* 0 */
};
_Static_assert(sizeof(struct hvm_pio_busy) == 16, "hvm_pio_busy");

/*
 * SET_MMIO_MIRROR: reads of an MMIO range (the VGA window) answered by hvmhv
 * from a byte image that hvmhv itself keeps current while the dm says the
 * image is valid.  The PIO mirror's "answer only when the ring is empty"
 * does not fit here: a text console's scroll copies inside the window (read
 * the source, post the write to the destination), so the ring is never
 * empty at a read.  Instead the hv applies every window write it sends to
 * the image too, so the image is "VRAM plus the writes still in the ring".
 *
 * The payload is one struct hvm_mmio_mirror_set: the guest-physical range
 * (1 to HVM_MMIO_MIRROR_MAX_LEN bytes, not wrapping) and up to
 * HVM_MMIO_MIRROR_MAX_PORTS "mode" port ranges: the registers that decide
 * what a window read or write does (VGA sequencer, graphics controller,
 * misc output; Bochs VBE).  The message carries one fd: a memfd of at least
 * 4096 + len bytes sealed with F_SEAL_SHRINK, holding struct
 * hvm_mmio_mirror_hdr in its first page and the image of the range from
 * offset 4096.  The hv maps it read-write for the rest of the domain and
 * accepts the message once (-EEXIST after that).  Errors: -EINVAL (bad
 * range, ports or memfd), -EOPNOTSUPP with more than one vCPU (see below),
 * -ENOSYS from an hv that predates it: the dm then keeps every window read
 * synchronous.
 *
 * Protocol on hdr.state (atomic 32-bit; everything else in the header is
 * written only by the dm while the state is INVALID):
 *   - hv, before it sends any write (posted or synchronous, single or
 *     string) that touches a mode port: stores INVALID.  A write the hv
 *     cannot apply to the image (string, or straddling the live range's
 *     edge) that touches the live range: stores INVALID too.
 *   - hv, while VALID: applies every single write wholly inside the live
 *     range [gpa + live_off, gpa + live_off + live_len) to the image, in the
 *     order it sends them (posted writes under the ring's lock, before they
 *     are published), and answers single reads (1, 2, 4 or 8 bytes) wholly
 *     inside the live range from the image, without a request.
 *   - dm: stores INVALID whenever the window's contents or its decoding
 *     change by any other path (other registers' aliases, a framebuffer
 *     BAR, a blit, a reset, a monitor command).
 *   - dm: stores VALID (release, after live_off/live_len and the image) only
 *     while the domain's single vCPU is blocked in a synchronous request
 *     the dm is handling (so nothing is in flight: the ring was drained
 *     first, VRAM is current), only when a window write of byte b at a
 *     makes later reads of a return b and changes nothing else, and reads
 *     have no side effects (no latches), and only after rebuilding the
 *     image from VRAM.  Outside the live part the window does not decode.
 * With more than one vCPU another vCPU could send while the dm validates,
 * so the hv refuses the message (-EOPNOTSUPP) and the dm does not send it.
 * Bytes of the image are plain data: a hostile dm can only make the guest
 * read wrong pixels; the hv clamps live_off/live_len into the range it
 * was given and never trusts them for anything else.
 * The dm may also map the image's live part into the guest with an
 * ordinary HVM_MSG_MAP of the same memfd (hw/vga/vga_mirror.c does while
 * the image is valid); guest accesses there are then memory and never
 * reach this protocol, and the dm unmaps before the window's decoding
 * changes.  Nothing here changes for the hv.
 */
#define HVM_MMIO_MIRROR_MAX_LEN (128u << 10)
#define HVM_MMIO_MIRROR_MAX_PORTS 8
#define HVM_MMIO_MIRROR_IMAGE_OFFSET 4096u
#define HVM_MMIO_MIRROR_INVALID 0u
#define HVM_MMIO_MIRROR_VALID 1u

struct hvm_mmio_mirror_set {
	uint64_t gpa;
	uint64_t len;
	uint32_t nr_ports;
	uint32_t pad;
	struct hvm_range ports[HVM_MMIO_MIRROR_MAX_PORTS];
};
_Static_assert(sizeof(struct hvm_mmio_mirror_set) == 24 + 16 * HVM_MMIO_MIRROR_MAX_PORTS, "hvm_"
											  "mmio_"
											  "mirror_"
											  "set");

struct hvm_mmio_mirror_hdr {
	uint32_t state; /* HVM_MMIO_MIRROR_* (hv: only ever stores INVALID) */
	uint32_t pad;
	uint64_t live_off; /* dm: the part of the range that decodes now */
	uint64_t live_len;
	uint64_t validations; /* dm: how often it rebuilt the image (statistics) */
};

enum hvm_shutdown_reason {
	HVM_SHUTDOWN_POWEROFF = 0,
	HVM_SHUTDOWN_REBOOT = 1,
	HVM_SHUTDOWN_SUSPEND = 2,
	HVM_SHUTDOWN_CRASH = 3,
};

struct hvm_shutdown {
	uint32_t reason; /* enum hvm_shutdown_reason */
	uint32_t pad;
};

/* hvmhv exit status for each way a domain ends (read by the toolstack). */
#define HVM_EXIT_POWEROFF 0
#define HVM_EXIT_ERROR 1
#define HVM_EXIT_REBOOT 2
#define HVM_EXIT_CRASH 3
#define HVM_EXIT_DESTROYED 4

enum hvm_run_state {
	HVM_STATE_STARTING = 0,
	HVM_STATE_RUNNING = 1,
	HVM_STATE_PAUSED = 2,
	HVM_STATE_SHUTDOWN = 3,
};

struct hvm_status {
	uint32_t state; /* enum hvm_run_state */
	uint32_t nr_vcpus;
	uint64_t uptime_ns;
};

struct hvm_clock {
	uint64_t ns; /* virtual time in nanoseconds */
};

/*
 * CLOCK_SET with ns == HVM_CLOCK_NEXT_DEADLINE (qtest's `clock_step` without
 * an argument): the dm advances its clock to the earliest armed timer's
 * deadline, fires every timer due then, and replies with the new time.  With
 * no timer armed it replies status -ENOENT and the unchanged current time.
 * A dm that predates this value treats it as an ordinary (huge) time; the
 * harness recognises such a reply (ns >= HVM_CLOCK_NEXT_DEADLINE) and fails
 * the command.  Ordinary CLOCK_SET times stay below 2^63.
 */
#define HVM_CLOCK_NEXT_DEADLINE (UINT64_MAX - 1)

#endif /* HVM_SETUP_H */
