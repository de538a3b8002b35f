// SPDX-License-Identifier: MIT
/*
 * dm.c - device-model instance: standalone construction for tests, and the
 * requests a dm makes of its hypervisor (shutdown, pause, memory maps).
 */
#include "dm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "device.h"
#include "hvlink.h"
#include "ioreq.h"
#include "log.h"
#include "loop.h"
#include "json.h"
#include "qmp.h"
#include "vnc.h"

static const char *const shutdown_names[] = { "poweroff", "reboot", "suspend", "crash" };

void dm_init_common(struct dm *dm)
{
	unsigned i;

	dm->devices_tail = &dm->devices;
	dm->setup_sock = -1;
	dm->shutdown_reason = -1;
	dm->irq_page = &dm->irq_page_local;
	for (i = 0; i < DM_MAX_GSIS; i++) {
		dm->irq_fd[i] = -1;
		dm->resample_fd[i] = -1;
	}
}

int dm_create_standalone(uint64_t ram_size, struct dm **out)
{
	struct dm *dm = calloc(1, sizeof(*dm));
	void *ram = NULL;
	int err = -ENOMEM;

	if (!dm)
		return -ENOMEM;
	dm_init_common(dm);
	dm->cfg.ram_mb = ram_size >> 20;
	dm->cfg.vcpus = 1;
	dm->info.nr_vcpus = 1;
	dm->info.ram_below_4g = ram_size;
	if (ram_size) {
		ram = calloc(1, ram_size);
		if (!ram)
			goto err;
		err = gmem_add(&dm->mem, 0, ram_size, ram, GMEM_NO_TRACK);
		if (err)
			goto err;
		dm->standalone_ram = ram;
	}
	err = loop_create(&dm->loop);
	if (err)
		goto err;
	err = clock_create(NULL, true, &dm->clock);
	if (err)
		goto err;
	*out = dm;
	return 0;
err:
	if (dm->loop)
		loop_destroy(dm->loop);
	free(ram);
	free(dm);
	return err;
}

void dm_destroy(struct dm *dm)
{
	if (!dm)
		return;
	vnc_stop(dm);
	dev_destroy_all(dm);
	console_destroy(dm);
	qmp_stop(dm);
	ioreq_detach(dm);
	hvlink_close(dm);
	io_space_free(dm);
	clock_destroy(dm->clock);
	if (dm->loop)
		loop_destroy(dm->loop);
	free(dm->standalone_ram);
	free(dm);
}

/* Shared by guest- and host-initiated requests; the guest ones emit a QMP event. */
static void shutdown_common(struct dm *dm, unsigned reason, bool guest)
{
	struct hvm_shutdown s;
	int err;

	if (reason > HVM_SHUTDOWN_CRASH)
		reason = HVM_SHUTDOWN_CRASH;
	if (dm->shutdown_reason >= 0)
		return; /* the first request wins, as in Xen */
	dm->shutdown_reason = (int)reason;
	dm_info("dm", "%s requested %s", guest ? "guest" : "host", shutdown_names[reason]);
	if (guest) {
		struct json *data = json_new_object();

		json_object_set(data, "guest", json_new_bool(true));
		json_object_set(data, "reason",
				json_new_str(reason == HVM_SHUTDOWN_REBOOT  ? "guest-reset"
					     : reason == HVM_SHUTDOWN_CRASH ? "guest-panic"
									    : "guest-shutdown"));
		qmp_event(dm, reason == HVM_SHUTDOWN_REBOOT ? "RESET" : "SHUTDOWN", data);
	}
	if (dm->setup_sock < 0)
		return;
	s = (struct hvm_shutdown){ .reason = reason };
	err = hvlink_call(dm, HVM_MSG_SHUTDOWN, &s, sizeof(s), NULL, 0, NULL, 0, NULL);
	if (err)
		dm_warn("dm", "shutdown request failed: %s", strerror(-err));
}

void dm_request_shutdown(struct dm *dm, unsigned reason)
{
	shutdown_common(dm, reason, true);
}

void dm_request_shutdown_host(struct dm *dm, unsigned reason)
{
	shutdown_common(dm, reason, false);
}

void dm_request_reset(struct dm *dm)
{
	dm_request_shutdown(dm, HVM_SHUTDOWN_REBOOT);
}

int dm_pause(struct dm *dm, bool pause)
{
	int err = 0;

	if (dm->paused == pause)
		return 0;
	if (dm->setup_sock >= 0)
		err = hvlink_call(dm, pause ? HVM_MSG_PAUSE : HVM_MSG_UNPAUSE, NULL, 0, NULL, 0,
				  NULL, 0, NULL);
	if (err)
		return err;
	/* a paused guest's last buffered writes apply now, not on the next timer */
	if (pause)
		ioreq_drain_buffered(dm);
	dm->paused = pause;
	clock_pause(dm->clock, pause);
	return 0;
}

bool dm_is_paused(struct dm *dm)
{
	struct hvm_status st;
	size_t len = 0;

	if (dm->setup_sock >= 0 &&
	    !hvlink_call(dm, HVM_MSG_QUERY, NULL, 0, NULL, 0, &st, sizeof(st), &len) &&
	    len == sizeof(st))
		return st.state == HVM_STATE_PAUSED;
	return dm->paused;
}

int dm_add_stopped_hook(struct dm *dm, void (*fn)(void *opaque), void *opaque)
{
	if (dm->nr_stopped_hooks >= DM_MAX_STOPPED_HOOKS)
		return -ENOSPC;
	dm->stopped_hooks[dm->nr_stopped_hooks++] = (struct dm_stopped_hook){ fn, opaque };
	return 0;
}

int dm_map_memfd(struct dm *dm, uint64_t gpa, uint64_t size, int fd, uint64_t offset,
		 uint32_t flags)
{
	struct hvm_map m = { .gpa = gpa, .size = size, .offset = offset, .flags = flags };

	if ((gpa | size | offset) & 4095 || !size)
		return -EINVAL;
	return hvlink_call(dm, HVM_MSG_MAP, &m, sizeof(m), &fd, 1, NULL, 0, NULL);
}

int dm_unmap(struct dm *dm, uint64_t gpa, uint64_t size)
{
	struct hvm_map m = { .gpa = gpa, .size = size };

	return hvlink_call(dm, HVM_MSG_UNMAP, &m, sizeof(m), NULL, 0, NULL, 0, NULL);
}

int dm_dirty_log(struct dm *dm, uint64_t gpa, uint64_t size, uint8_t *bitmap, size_t cap)
{
	struct hvm_map m = { .gpa = gpa, .size = size };
	size_t need = (size / 4096 + 7) / 8, got = 0;
	int err;

	if (cap < need)
		return -ENOSPC;
	err = hvlink_call(dm, HVM_MSG_DIRTY_LOG, &m, sizeof(m), NULL, 0, bitmap, cap, &got);
	if (!err && got < need)
		memset(bitmap + got, 0, need - got);
	return err;
}
