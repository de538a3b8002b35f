/* SPDX-License-Identifier: MIT */
/*
 * aml.h - a small ACPI Machine Language emitter (ACPI 6.4 chapter 20,
 * "ACPI Machine Language (AML) Specification"): enough opcodes for the
 * "pc" machine's DSDT.  Objects with a PkgLength are opened and closed;
 * the length is encoded when the object is closed.  Errors (allocation,
 * nesting) are sticky and reported by aml_finish().
 */
#ifndef HW_PC_AML_H
#define HW_PC_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 16

/* Opcodes (ACPI 6.4 section 20.3). */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_METHOD 0x14
#define AML_DUAL_NAME 0x2e
#define AML_MULTI_NAME 0x2f
#define AML_EXT_PREFIX 0x5b
#define AML_ROOT_CHAR 0x5c
#define AML_PARENT_CHAR 0x5e
#define AML_LOCAL0 0x60
#define AML_ARG0 0x68
#define AML_STORE 0x70
#define AML_AND 0x7b
#define AML_OR 0x7d
#define AML_CREATE_DWORD_FIELD 0x8a
#define AML_LAND 0x90
#define AML_LEQUAL 0x93
#define AML_LLESS 0x95
#define AML_IF 0xa0
#define AML_ELSE 0xa1
#define AML_RETURN 0xa4
#define AML_ONES 0xff
/* After AML_EXT_PREFIX. */
#define AML_EXT_OP_REGION 0x80
#define AML_EXT_FIELD 0x81
#define AML_EXT_DEVICE 0x82

#define AML_REGION_PCI_CONFIG 0x02
#define AML_FIELD_BYTE_ACC 0x01

struct aml {
	uint8_t *p;
	size_t len, cap;
	size_t open[AML_MAX_DEPTH];
	unsigned depth;
	int err;
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* 0 with the finished bytes in out and len (caller frees), or -errno. */
int aml_finish(struct aml *a, uint8_t **out, size_t *len);

void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* NameString from "\\_SB.PCI0", "^PCI0" or "LNKA"; segments are padded with '_'. */
void aml_name(struct aml *a, const char *path);
/* Integer with the shortest encoding (ZeroOp, OneOp, Byte/Word/DWord/QWordConst). */
void aml_int(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EISA id "PNP0A03" as a DWordConst (ACPI 6.4 section 19.6.35, EISAID). */
void aml_eisaid(struct aml *a, const char *id);

/* Start a PkgLength-delimited body at the current position; aml_close() ends it. */
void aml_pkg_open(struct aml *a);
void aml_close(struct aml *a);

void aml_scope(struct aml *a, const char *path);				  /* open */
void aml_device(struct aml *a, const char *name);				  /* open */
void aml_method(struct aml *a, const char *name, unsigned nargs, int serialized); /* open */
void aml_if(struct aml *a);			  /* open; predicate follows */
void aml_else(struct aml *a);			  /* open */
void aml_package(struct aml *a, unsigned nelems); /* open */
/* Name(name, Buffer(){bytes}) */
void aml_name_buffer(struct aml *a, const char *name, const uint8_t *data, size_t n);
/* Name(name, integer) */
void aml_name_int(struct aml *a, const char *name, uint64_t v);
/* Name(name, EisaId(id)) */
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

#endif /* HW_PC_AML_H */
