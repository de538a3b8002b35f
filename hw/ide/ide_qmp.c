// SPDX-License-Identifier: MIT
/*
 * ide_qmp.c - QMP commands for IDE drives: query-block, query-blockstats,
 * eject and blockdev-change-medium (what `hvmctl cd-eject`, `cd-insert` and
 * `block-list` use).  query-blockstats has QEMU's rd/wr/flush counters plus
 * x-dma-bytes, the part of them the bus master moved (tests check with it
 * that a guest driver really uses DMA), and how the image ran its requests
 * (x-aio: native, threads or sync, with per-path request counts).  Drives are named as xl names them (hda-hdd) or as
 * QEMU does (ide0-hd0, ide1-cd0).  A medium change shows up in the guest as
 * a UNIT ATTENTION and a media event, as on a real drive.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ide.h"
#include "dm.h"
#include "json.h"
#include "log.h"
#include "qmp.h"

/* "hdc", "ide1-cd0" or "ide1-hd0" -> index 0-3, or -1. */
static int ide_drive_index(const char *name)
{
	unsigned bus, unit;
	char kind[3];

	if (!name)
		return -1;
	if (strlen(name) == 3 && name[0] == 'h' && name[1] == 'd' && name[2] >= 'a' &&
	    name[2] <= 'd')
		return name[2] - 'a';
	if (sscanf(name, "ide%u-%2[a-z]%u", &bus, kind, &unit) == 3 && bus < 2 && unit < 2 &&
	    (!strcmp(kind, "hd") || !strcmp(kind, "cd")))
		return (int)(bus * 2 + unit);
	return -1;
}

static struct ide_drive *ide_lookup(struct qmp_req *req, bool want_cdrom)
{
	const char *name = json_get_str(req->args, "device");
	int idx = ide_drive_index(name ? name : json_get_str(req->args, "id"));
	struct ide_drive *d = idx < 0 ? NULL : piix_ide_drive(req->dm, (unsigned)idx);

	if (!d || d->kind == IDE_NONE) {
		qmp_error_class(req, "DeviceNotFound", "Device '%s' not found", name ? name : "");
		return NULL;
	}
	if (want_cdrom && d->kind != IDE_CDROM) {
		qmp_error(req, "Device '%s' is not removable", name);
		return NULL;
	}
	return d;
}

static struct json *drive_info(const struct ide_drive *d, unsigned idx)
{
	struct json *o = json_new_object(), *ins;
	char name[32];

	snprintf(name, sizeof(name), "hd%c", 'a' + idx);
	json_object_set(o, "device", json_new_str(name));
	snprintf(name, sizeof(name), "ide%u-%s%u", idx / 2, d->kind == IDE_CDROM ? "cd" : "hd",
		 idx % 2);
	json_object_set(o, "qdev", json_new_str(name));
	json_object_set(o, "removable", json_new_bool(d->kind == IDE_CDROM));
	json_object_set(o, "locked", json_new_bool(d->atapi.locked));
	if (d->kind == IDE_CDROM)
		json_object_set(o, "tray_open", json_new_bool(d->atapi.tray_open));
	if (d->blk) {
		ins = json_new_object();
		json_object_set(ins, "file", json_new_str(blk_path(d->blk)));
		json_object_set(ins, "drv", json_new_str(blk_format_name(d->blk)));
		json_object_set(ins, "ro", json_new_bool(d->readonly));
		json_object_set(ins, "virtual-size", json_new_int((int64_t)blk_size(d->blk)));
		json_object_set(o, "inserted", ins);
	}
	return o;
}

static int qmp_query_block(struct qmp_req *req)
{
	struct json *arr = json_new_array();
	unsigned i;

	for (i = 0; i < 4; i++) {
		struct ide_drive *d = piix_ide_drive(req->dm, i);

		if (d && d->kind != IDE_NONE)
			json_array_add(arr, drive_info(d, i));
	}
	req->ret = arr;
	return 0;
}

static struct json *drive_stats(const struct ide_drive *d, unsigned idx)
{
	struct json *o = json_new_object(), *st = json_new_object();
	char name[8];

	snprintf(name, sizeof(name), "hd%c", 'a' + idx);
	json_object_set(o, "device", json_new_str(name));
	json_object_set(st, "rd_bytes", json_new_int((int64_t)d->stats.rd_bytes));
	json_object_set(st, "wr_bytes", json_new_int((int64_t)d->stats.wr_bytes));
	json_object_set(st, "rd_operations", json_new_int((int64_t)d->stats.rd_ops));
	json_object_set(st, "wr_operations", json_new_int((int64_t)d->stats.wr_ops));
	json_object_set(st, "flush_operations", json_new_int((int64_t)d->stats.flush_ops));
	json_object_set(st, "x-dma-bytes", json_new_int((int64_t)d->stats.dma_bytes));
	if (d->blk) {
		struct blk_stats bs;

		blk_get_stats(d->blk, &bs);
		json_object_set(st, "x-aio", json_new_str(blk_aio_name(d->blk)));
		json_object_set(st, "x-aio-native", json_new_int((int64_t)bs.native));
		json_object_set(st, "x-aio-fallback", json_new_int((int64_t)bs.fallback));
		json_object_set(st, "x-aio-worker", json_new_int((int64_t)bs.worker));
	}
	json_object_set(o, "stats", st);
	return o;
}

static int qmp_query_blockstats(struct qmp_req *req)
{
	struct json *arr = json_new_array();
	unsigned i;

	for (i = 0; i < 4; i++) {
		struct ide_drive *d = piix_ide_drive(req->dm, i);

		if (d && d->kind != IDE_NONE)
			json_array_add(arr, drive_stats(d, i));
	}
	req->ret = arr;
	return 0;
}

/* QEMU's DEVICE_TRAY_MOVED event, so management tools see media changes. */
static void tray_event(struct dm *dm, const struct ide_drive *d, bool open)
{
	struct json *data = json_new_object();
	char name[16];

	snprintf(name, sizeof(name), "hd%c", 'a' + d->bus->index * 2 + d->unit);
	json_object_set(data, "device", json_new_str(name));
	json_object_set(data, "tray-open", json_new_bool(open));
	qmp_event(dm, "DEVICE_TRAY_MOVED", data);
}

static int qmp_eject(struct qmp_req *req)
{
	struct ide_drive *d = ide_lookup(req, true);
	bool force = false;

	if (!d)
		return -EINVAL;
	json_get_bool(req->args, "force", &force);
	if (d->atapi.locked && !force)
		return qmp_error(req, "Device '%s' is locked and force was not specified",
				 json_get_str(req->args, "device"));
	dm_info("ide", "hd%c: medium ejected", 'a' + d->bus->index * 2 + d->unit);
	ide_atapi_change_medium(d, NULL);
	d->atapi.tray_open = true;
	tray_event(req->dm, d, true);
	return 0;
}

static int qmp_change_medium(struct qmp_req *req)
{
	struct ide_drive *d = ide_lookup(req, true);
	const char *file = json_get_str(req->args, "filename");
	const char *fmt = json_get_str(req->args, "format");
	struct blk_opts bo = { .path = file, .format = fmt ? fmt : "raw", .readonly = true };
	struct blk *blk;
	int err;

	if (!d)
		return -EINVAL;
	if (!file)
		return qmp_error(req, "Parameter 'filename' is missing");
	err = blk_open(&bo, req->dm->loop, &blk);
	if (err)
		return qmp_error(req, "Could not open '%s': %s", file, strerror(-err));
	dm_info("ide", "hd%c: medium changed to %s", 'a' + d->bus->index * 2 + d->unit, file);
	ide_atapi_change_medium(d, blk);
	tray_event(req->dm, d, false);
	return 0;
}

static const struct qmp_command ide_qmp_cmds[] = {
	{ .name = "query-block", .fn = qmp_query_block },
	{ .name = "query-blockstats", .fn = qmp_query_blockstats },
	{ .name = "eject", .fn = qmp_eject },
	{ .name = "blockdev-change-medium", .fn = qmp_change_medium },
	{ .name = "change-medium", .fn = qmp_change_medium },
};

int ide_qmp_register(struct dm *dm)
{
	return qmp_register_commands(dm, ide_qmp_cmds,
				     sizeof(ide_qmp_cmds) / sizeof(ide_qmp_cmds[0]), NULL);
}
