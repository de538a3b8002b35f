// SPDX-License-Identifier: MIT
/*
 * keymap.c - keysym -> Linux keycode tables (see keymap.h).  The layouts are
 * the physical PC 102/105-key positions of each national layout; each layout
 * lists only where it differs from en-us, and is searched before en-us.
 * Keysym values are the X11 keysymdef ones (Latin-1 keysyms equal their
 * code points).
 */
#include "keymap.h"

#include <linux/input-event-codes.h>
#include <stddef.h>
#include <string.h>

struct keymap_entry {
	uint32_t keysym;
	uint16_t keycode;
};

struct keymap {
	const char *name;
	const struct keymap_entry *map;
	size_t n;
};

#define KM(t) t, sizeof(t) / sizeof(t[0])

/* Keys that do not depend on the layout: function, editing, modifiers, keypad. */
static const struct keymap_entry km_common[] = {
	{ 0xff08, KEY_BACKSPACE },  { 0xff09, KEY_TAB },	{ 0xfe20, KEY_TAB },
	{ 0xff0d, KEY_ENTER },	    { 0xff1b, KEY_ESC },	{ 0xffff, KEY_DELETE },
	{ 0xff50, KEY_HOME },	    { 0xff51, KEY_LEFT },	{ 0xff52, KEY_UP },
	{ 0xff53, KEY_RIGHT },	    { 0xff54, KEY_DOWN },	{ 0xff55, KEY_PAGEUP },
	{ 0xff56, KEY_PAGEDOWN },   { 0xff57, KEY_END },	{ 0xff63, KEY_INSERT },
	{ 0xffe1, KEY_LEFTSHIFT },  { 0xffe2, KEY_RIGHTSHIFT }, { 0xffe3, KEY_LEFTCTRL },
	{ 0xffe4, KEY_RIGHTCTRL },  { 0xffe5, KEY_CAPSLOCK },	{ 0xffe9, KEY_LEFTALT },
	{ 0xffea, KEY_RIGHTALT },   { 0xfe03, KEY_RIGHTALT },	{ 0xffe7, KEY_LEFTMETA },
	{ 0xffe8, KEY_RIGHTMETA },  { 0xffeb, KEY_LEFTMETA },	{ 0xffec, KEY_RIGHTMETA },
	{ 0xff67, KEY_COMPOSE },    { 0xff61, KEY_SYSRQ },	{ 0xff13, KEY_PAUSE },
	{ 0xff14, KEY_SCROLLLOCK }, { 0xff7f, KEY_NUMLOCK },	{ 0xff8d, KEY_KPENTER },
	{ 0xffaa, KEY_KPASTERISK }, { 0xffab, KEY_KPPLUS },	{ 0xffad, KEY_KPMINUS },
	{ 0xffae, KEY_KPDOT },	    { 0xffac, KEY_KPDOT },	{ 0xffaf, KEY_KPSLASH },
	{ 0xffb0, KEY_KP0 },	    { 0xffb1, KEY_KP1 },	{ 0xffb2, KEY_KP2 },
	{ 0xffb3, KEY_KP3 },	    { 0xffb4, KEY_KP4 },	{ 0xffb5, KEY_KP5 },
	{ 0xffb6, KEY_KP6 },	    { 0xffb7, KEY_KP7 },	{ 0xffb8, KEY_KP8 },
	{ 0xffb9, KEY_KP9 },	    { 0xff95, KEY_KP7 },	{ 0xff96, KEY_KP4 },
	{ 0xff97, KEY_KP8 },	    { 0xff98, KEY_KP6 },	{ 0xff99, KEY_KP2 },
	{ 0xff9a, KEY_KP9 },	    { 0xff9b, KEY_KP3 },	{ 0xff9c, KEY_KP1 },
	{ 0xff9d, KEY_KP5 },	    { 0xff9e, KEY_KP0 },	{ 0xff9f, KEY_KPDOT },
	{ 0xffbe, KEY_F1 },	    { 0xffbf, KEY_F2 },		{ 0xffc0, KEY_F3 },
	{ 0xffc1, KEY_F4 },	    { 0xffc2, KEY_F5 },		{ 0xffc3, KEY_F6 },
	{ 0xffc4, KEY_F7 },	    { 0xffc5, KEY_F8 },		{ 0xffc6, KEY_F9 },
	{ 0xffc7, KEY_F10 },	    { 0xffc8, KEY_F11 },	{ 0xffc9, KEY_F12 },
	{ ' ', KEY_SPACE },
};

static const struct keymap_entry km_en_us[] = {
	{ '1', KEY_1 },		  { '!', KEY_1 },	   { '2', KEY_2 },
	{ '@', KEY_2 },		  { '3', KEY_3 },	   { '#', KEY_3 },
	{ '4', KEY_4 },		  { '$', KEY_4 },	   { '5', KEY_5 },
	{ '%', KEY_5 },		  { '6', KEY_6 },	   { '^', KEY_6 },
	{ '7', KEY_7 },		  { '&', KEY_7 },	   { '8', KEY_8 },
	{ '*', KEY_8 },		  { '9', KEY_9 },	   { '(', KEY_9 },
	{ '0', KEY_0 },		  { ')', KEY_0 },	   { '-', KEY_MINUS },
	{ '_', KEY_MINUS },	  { '=', KEY_EQUAL },	   { '+', KEY_EQUAL },
	{ '[', KEY_LEFTBRACE },	  { '{', KEY_LEFTBRACE },  { ']', KEY_RIGHTBRACE },
	{ '}', KEY_RIGHTBRACE },  { ';', KEY_SEMICOLON },  { ':', KEY_SEMICOLON },
	{ '\'', KEY_APOSTROPHE }, { '"', KEY_APOSTROPHE }, { '`', KEY_GRAVE },
	{ '~', KEY_GRAVE },	  { '\\', KEY_BACKSLASH }, { '|', KEY_BACKSLASH },
	{ ',', KEY_COMMA },	  { '<', KEY_COMMA },	   { '.', KEY_DOT },
	{ '>', KEY_DOT },	  { '/', KEY_SLASH },	   { '?', KEY_SLASH },
	{ 'q', KEY_Q },		  { 'w', KEY_W },	   { 'e', KEY_E },
	{ 'r', KEY_R },		  { 't', KEY_T },	   { 'y', KEY_Y },
	{ 'u', KEY_U },		  { 'i', KEY_I },	   { 'o', KEY_O },
	{ 'p', KEY_P },		  { 'a', KEY_A },	   { 's', KEY_S },
	{ 'd', KEY_D },		  { 'f', KEY_F },	   { 'g', KEY_G },
	{ 'h', KEY_H },		  { 'j', KEY_J },	   { 'k', KEY_K },
	{ 'l', KEY_L },		  { 'z', KEY_Z },	   { 'x', KEY_X },
	{ 'c', KEY_C },		  { 'v', KEY_V },	   { 'b', KEY_B },
	{ 'n', KEY_N },		  { 'm', KEY_M },
};

static const struct keymap_entry km_en_gb[] = {
	{ '"', KEY_2 },		{ 0xa3, KEY_3 },	{ '@', KEY_APOSTROPHE },
	{ '#', KEY_BACKSLASH }, { '~', KEY_BACKSLASH }, { '\\', KEY_102ND },
	{ '|', KEY_102ND },	{ 0xac, KEY_GRAVE },
};

static const struct keymap_entry km_de[] = {
	{ 'y', KEY_Z },		 { 'z', KEY_Y },	   { 0xfc, KEY_LEFTBRACE },
	{ 0xf6, KEY_SEMICOLON }, { 0xe4, KEY_APOSTROPHE }, { 0xdf, KEY_MINUS },
	{ '"', KEY_2 },		 { 0xa7, KEY_3 },	   { '&', KEY_6 },
	{ '/', KEY_7 },		 { '(', KEY_8 },	   { ')', KEY_9 },
	{ '=', KEY_0 },		 { '?', KEY_MINUS },	   { '+', KEY_RIGHTBRACE },
	{ '*', KEY_RIGHTBRACE }, { '#', KEY_BACKSLASH },   { '\'', KEY_BACKSLASH },
	{ '-', KEY_SLASH },	 { '_', KEY_SLASH },	   { ';', KEY_COMMA },
	{ ':', KEY_DOT },	 { '<', KEY_102ND },	   { '>', KEY_102ND },
	{ '|', KEY_102ND },	 { '^', KEY_GRAVE },	   { 0xb0, KEY_GRAVE },
	{ 0xfe52, KEY_GRAVE },	 { '@', KEY_Q },	   { 0x20ac, KEY_E },
	{ '{', KEY_7 },		 { '[', KEY_8 },	   { ']', KEY_9 },
	{ '}', KEY_0 },		 { '\\', KEY_MINUS },	   { '~', KEY_RIGHTBRACE },
	{ 0xb4, KEY_EQUAL },	 { 0xfe51, KEY_EQUAL },	   { '`', KEY_EQUAL },
	{ 0xfe50, KEY_EQUAL },
};

static const struct keymap_entry km_de_ch[] = {
	{ 'y', KEY_Z },		  { 'z', KEY_Y },	    { 0xfc, KEY_LEFTBRACE },
	{ 0xe8, KEY_LEFTBRACE },  { 0xf6, KEY_SEMICOLON },  { 0xe9, KEY_SEMICOLON },
	{ 0xe4, KEY_APOSTROPHE }, { 0xe0, KEY_APOSTROPHE }, { '\'', KEY_MINUS },
	{ '?', KEY_MINUS },	  { '^', KEY_EQUAL },	    { '`', KEY_EQUAL },
	{ '-', KEY_SLASH },	  { '_', KEY_SLASH },	    { '$', KEY_BACKSLASH },
	{ '<', KEY_102ND },	  { '>', KEY_102ND },	    { '"', KEY_2 },
	{ '*', KEY_3 },		  { '/', KEY_7 },	    { '(', KEY_8 },
	{ ')', KEY_9 },		  { '=', KEY_0 },	    { '+', KEY_1 },
	{ ';', KEY_COMMA },	  { ':', KEY_DOT },	    { '@', KEY_2 },
	{ '#', KEY_3 },
};

static const struct keymap_entry km_fr[] = {
	{ 'a', KEY_Q },
	{ 'q', KEY_A },
	{ 'z', KEY_W },
	{ 'w', KEY_Z },
	{ 'm', KEY_SEMICOLON },
	{ ',', KEY_M },
	{ '?', KEY_M },
	{ ';', KEY_COMMA },
	{ '.', KEY_COMMA },
	{ ':', KEY_DOT },
	{ '/', KEY_DOT },
	{ '!', KEY_SLASH },
	{ 0xa7, KEY_SLASH },
	{ '&', KEY_1 },
	{ 0xe9, KEY_2 },
	{ '"', KEY_3 },
	{ '\'', KEY_4 },
	{ '(', KEY_5 },
	{ '-', KEY_6 },
	{ 0xe8, KEY_7 },
	{ '_', KEY_8 },
	{ 0xe7, KEY_9 },
	{ 0xe0, KEY_0 },
	{ ')', KEY_MINUS },
	{ 0xb0, KEY_MINUS },
	{ '=', KEY_EQUAL },
	{ '+', KEY_EQUAL },
	{ '^', KEY_LEFTBRACE },
	{ 0xfe52, KEY_LEFTBRACE },
	{ '$', KEY_RIGHTBRACE },
	{ 0xa3, KEY_RIGHTBRACE },
	{ 0xf9, KEY_APOSTROPHE },
	{ '%', KEY_APOSTROPHE },
	{ '*', KEY_BACKSLASH },
	{ 0xb5, KEY_BACKSLASH },
	{ '<', KEY_102ND },
	{ '>', KEY_102ND },
	{ 0xb2, KEY_GRAVE },
	{ '~', KEY_2 },
	{ '#', KEY_3 },
	{ '{', KEY_4 },
	{ '[', KEY_5 },
	{ '|', KEY_6 },
	{ '`', KEY_7 },
	{ '\\', KEY_8 },
	{ '@', KEY_0 },
	{ ']', KEY_MINUS },
	{ '}', KEY_EQUAL },
	{ '1', KEY_1 },
	{ '2', KEY_2 },
	{ '3', KEY_3 },
	{ '4', KEY_4 },
	{ '5', KEY_5 },
	{ '6', KEY_6 },
	{ '7', KEY_7 },
	{ '8', KEY_8 },
	{ '9', KEY_9 },
	{ '0', KEY_0 },
	{ 0x20ac, KEY_E },
};

static const struct keymap_entry km_it[] = {
	{ '\'', KEY_MINUS },	 { '?', KEY_MINUS },	   { 0xec, KEY_EQUAL },
	{ '^', KEY_EQUAL },	 { 0xe8, KEY_LEFTBRACE },  { 0xe9, KEY_LEFTBRACE },
	{ '+', KEY_RIGHTBRACE }, { '*', KEY_RIGHTBRACE },  { 0xf2, KEY_SEMICOLON },
	{ 0xe7, KEY_SEMICOLON }, { 0xe0, KEY_APOSTROPHE }, { 0xb0, KEY_APOSTROPHE },
	{ 0xf9, KEY_BACKSLASH }, { 0xa7, KEY_BACKSLASH },  { '\\', KEY_GRAVE },
	{ '|', KEY_GRAVE },	 { '-', KEY_SLASH },	   { '_', KEY_SLASH },
	{ ';', KEY_COMMA },	 { ':', KEY_DOT },	   { '<', KEY_102ND },
	{ '>', KEY_102ND },	 { '"', KEY_2 },	   { 0xa3, KEY_3 },
	{ '&', KEY_6 },		 { '/', KEY_7 },	   { '(', KEY_8 },
	{ ')', KEY_9 },		 { '=', KEY_0 },	   { '@', KEY_SEMICOLON },
	{ '#', KEY_APOSTROPHE }, { '[', KEY_LEFTBRACE },   { ']', KEY_RIGHTBRACE },
};

static const struct keymap_entry km_es[] = {
	{ 0xf1, KEY_SEMICOLON },  { '\'', KEY_MINUS },	   { '?', KEY_MINUS },
	{ 0xa1, KEY_EQUAL },	  { 0xbf, KEY_EQUAL },	   { '`', KEY_LEFTBRACE },
	{ '^', KEY_LEFTBRACE },	  { '+', KEY_RIGHTBRACE }, { '*', KEY_RIGHTBRACE },
	{ 0xb4, KEY_APOSTROPHE }, { 0xe7, KEY_BACKSLASH }, { 0xba, KEY_GRAVE },
	{ 0xaa, KEY_GRAVE },	  { '-', KEY_SLASH },	   { '_', KEY_SLASH },
	{ ';', KEY_COMMA },	  { ':', KEY_DOT },	   { '<', KEY_102ND },
	{ '>', KEY_102ND },	  { '"', KEY_2 },	   { 0xb7, KEY_3 },
	{ '&', KEY_6 },		  { '/', KEY_7 },	   { '(', KEY_8 },
	{ ')', KEY_9 },		  { '=', KEY_0 },	   { '|', KEY_1 },
	{ '@', KEY_2 },		  { '#', KEY_3 },	   { '[', KEY_LEFTBRACE },
	{ ']', KEY_RIGHTBRACE },  { '{', KEY_APOSTROPHE }, { '}', KEY_BACKSLASH },
	{ '\\', KEY_GRAVE },
};

/* Japanese 106/109: symbols move, plus the yen, ro and conversion keys. */
static const struct keymap_entry km_ja[] = {
	{ '"', KEY_2 },		 { '&', KEY_6 },
	{ '\'', KEY_7 },	 { '(', KEY_8 },
	{ ')', KEY_9 },		 { '=', KEY_MINUS },
	{ '^', KEY_EQUAL },	 { '~', KEY_EQUAL },
	{ '@', KEY_LEFTBRACE },	 { '`', KEY_LEFTBRACE },
	{ '[', KEY_RIGHTBRACE }, { '{', KEY_RIGHTBRACE },
	{ '+', KEY_SEMICOLON },	 { ';', KEY_SEMICOLON },
	{ ':', KEY_APOSTROPHE }, { '*', KEY_APOSTROPHE },
	{ ']', KEY_BACKSLASH },	 { '}', KEY_BACKSLASH },
	{ '\\', KEY_RO },	 { '_', KEY_RO },
	{ 0xa5, KEY_YEN },	 { '|', KEY_YEN },
	{ 0xff21, KEY_HENKAN },	 { 0xff22, KEY_MUHENKAN },
	{ 0xff23, KEY_HENKAN },	 { 0xff27, KEY_KATAKANAHIRAGANA },
	{ 0xff2a, KEY_GRAVE },
};

static const struct keymap keymaps[] = {
	{ "en-us", KM(km_en_us) }, { "en-gb", KM(km_en_gb) }, { "de", KM(km_de) },
	{ "de-ch", KM(km_de_ch) }, { "fr", KM(km_fr) },	      { "fr-be", KM(km_fr) },
	{ "it", KM(km_it) },	   { "es", KM(km_es) },	      { "ja", KM(km_ja) },
};

const struct keymap *keymap_find(const char *name)
{
	size_t i;

	if (!name || !*name)
		return &keymaps[0];
	for (i = 0; i < sizeof(keymaps) / sizeof(keymaps[0]); i++)
		if (!strcmp(keymaps[i].name, name))
			return &keymaps[i];
	return NULL;
}

const char *keymap_names(void)
{
	return "en-us, en-gb, de, de-ch, fr, fr-be, it, es, ja";
}

static unsigned lookup(const struct keymap_entry *m, size_t n, uint32_t keysym)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (m[i].keysym == keysym)
			return m[i].keycode;
	return 0;
}

unsigned keymap_keysym(const struct keymap *km, uint32_t keysym)
{
	unsigned k;

	if (keysym >= 'A' && keysym <= 'Z')
		keysym += 'a' - 'A'; /* Shift is a separate event */
	if (keysym >= 0xc0 && keysym <= 0xde && keysym != 0xd7)
		keysym += 0x20; /* Latin-1 capitals */
	k = lookup(km->map, km->n, keysym);
	if (!k)
		k = lookup(km_common, sizeof(km_common) / sizeof(km_common[0]), keysym);
	if (!k && km != &keymaps[0])
		k = lookup(km_en_us, sizeof(km_en_us) / sizeof(km_en_us[0]), keysym);
	return k;
}

unsigned keymap_xt(uint32_t xt)
{
	/* E0-prefixed scancodes arrive with bit 7 set (QEMU's encoding). */
	static const struct keymap_entry e0[] = {
		{ 0x9c, KEY_KPENTER }, { 0x9d, KEY_RIGHTCTRL }, { 0xb5, KEY_KPSLASH },
		{ 0xb7, KEY_SYSRQ },   { 0xb8, KEY_RIGHTALT },	{ 0xc6, KEY_PAUSE },
		{ 0xc7, KEY_HOME },    { 0xc8, KEY_UP },	{ 0xc9, KEY_PAGEUP },
		{ 0xcb, KEY_LEFT },    { 0xcd, KEY_RIGHT },	{ 0xcf, KEY_END },
		{ 0xd0, KEY_DOWN },    { 0xd1, KEY_PAGEDOWN },	{ 0xd2, KEY_INSERT },
		{ 0xd3, KEY_DELETE },  { 0xdb, KEY_LEFTMETA },	{ 0xdc, KEY_RIGHTMETA },
		{ 0xdd, KEY_COMPOSE }, { 0x54, KEY_SYSRQ },	{ 0x70, KEY_KATAKANAHIRAGANA },
		{ 0x73, KEY_RO },      { 0x79, KEY_HENKAN },	{ 0x7b, KEY_MUHENKAN },
		{ 0x7d, KEY_YEN },
	};
	unsigned k = lookup(e0, sizeof(e0) / sizeof(e0[0]), xt);

	if (k)
		return k;
	/* The base block of set 1 equals the Linux keycodes. */
	return xt >= 1 && xt <= 0x58 ? xt : 0;
}
