// SPDX-License-Identifier: MIT
/*
 * kvm_calib.c - decide whether KVM is worth using (accel=auto).
 *
 * Some hosts offer /dev/kvm that emulates every privileged guest instruction
 * in software (nested paravirtual KVM, about 3 us each); firmware and
 * kernels then run far slower than on our own emulator.  A throw-away
 * real-mode guest marks the start with `out`, runs CALIB_LOOPS iterations of
 * cli/sti/mov eax,cr0 (native speed under hardware virtualization), and
 * marks the end with a second `out`; the time between the two exits, per
 * iteration, is the figure.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "hv.h"

#define CALIB_LOOPS 1000
#define CALIB_MEM 0x10000
#define CALIB_CODE 0x1000
#define CALIB_PORT 0x80

static const uint8_t calib_code[] = {
	0xe6,
	CALIB_PORT, /* out 0x80, al */
	0xb9,
	CALIB_LOOPS & 0xff,
	CALIB_LOOPS >> 8, /* mov cx, CALIB_LOOPS */
	0xfa,		  /* 1: cli */
	0xfb,		  /* sti */
	0x0f,
	0x20,
	0xc0, /* mov eax, cr0 */
	0xe2,
	0xf9, /* loop 1b */
	0xe6,
	CALIB_PORT, /* out 0x80, al */
	0xeb,
	0xfe, /* jmp $ */
};

struct calib {
	int kvm, vm, vcpu;
	uint8_t *mem;
	struct kvm_run *run;
	int run_size;
};

static int calib_setup(struct calib *c)
{
	struct kvm_userspace_memory_region r = { .memory_size = CALIB_MEM };
	struct kvm_regs regs = { .rip = CALIB_CODE, .rflags = 2 };
	struct kvm_sregs sregs;

	c->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (c->kvm < 0)
		return -errno;
	c->vm = ioctl(c->kvm, KVM_CREATE_VM, 0);
	if (c->vm < 0)
		return -errno;
	c->mem = mmap(NULL, CALIB_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->mem == MAP_FAILED) {
		c->mem = NULL;
		return -errno;
	}
	memcpy(c->mem + CALIB_CODE, calib_code, sizeof(calib_code));
	r.userspace_addr = (uintptr_t)c->mem;
	if (ioctl(c->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	c->vcpu = ioctl(c->vm, KVM_CREATE_VCPU, 0);
	c->run_size = ioctl(c->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (c->vcpu < 0 || c->run_size <= 0)
		return -errno;
	c->run = mmap(NULL, (size_t)c->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->vcpu, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		return -errno;
	}
	if (ioctl(c->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(c->vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(c->vcpu, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static void calib_teardown(struct calib *c)
{
	if (c->run)
		munmap(c->run, (size_t)c->run_size);
	if (c->mem)
		munmap(c->mem, CALIB_MEM);
	if (c->vcpu >= 0)
		close(c->vcpu);
	if (c->vm >= 0)
		close(c->vm);
	if (c->kvm >= 0)
		close(c->kvm);
}

/* Run to the next `out`; returns its time in ns or -errno. */
static int64_t run_to_out(struct calib *c)
{
	if (ioctl(c->vcpu, KVM_RUN, 0) < 0)
		return -errno;
	if (c->run->exit_reason != KVM_EXIT_IO || c->run->io.port != CALIB_PORT)
		return -EIO;
	return (int64_t)hv_now_ns();
}

long kvm_calibrate(const char **why)
{
	struct calib c = { .kvm = -1, .vm = -1, .vcpu = -1 };
	int64_t t0, t1;
	long ret;

	ret = calib_setup(&c);
	if (ret) {
		*why = ret == -ENOENT ? "/dev/kvm is missing" : "cannot create a KVM guest";
		goto out;
	}
	t0 = run_to_out(&c);
	t1 = t0 < 0 ? t0 : run_to_out(&c);
	if (t0 < 0 || t1 < 0) {
		*why = "calibration guest did not run";
		ret = -EIO;
		goto out;
	}
	ret = (long)((t1 - t0) / CALIB_LOOPS);
	*why = "measured";
out:
	calib_teardown(&c);
	return ret;
}
