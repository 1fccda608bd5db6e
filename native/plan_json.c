/* plan_json.c: `ocirt-init --decode-plan` reads one plan (attributes only, no frame header) from stdin and
 * prints one line per attribute, in plan order, so a TypeScript test can round-trip its encoder:
 *
 *   {"attr":"NAME","field":value,...}
 *
 * NAME is the enum name without ATTR_ ("MOUNT"); the fields are those of plan.c's specs, in encoding order.
 * Attributes holding one value call it "value". Values by kind:
 *   u  U32        JSON number                                      {"attr":"UID","value":1000}
 *   U  U64        JSON string of decimal digits (exact past 2^53)  {"attr":"CLONE_FLAGS","value":"2080505856"}
 *   s  STR        JSON string: " \ and bytes < 0x20 escaped (\" \\ \u00XX), other bytes copied as they are
 *   lN strings    JSON array of strings (START_HOOK args, env)
 *   g  U32 array  JSON array of numbers                            {"attr":"ADDITIONAL_GIDS","value":[10,20]}
 *   x  raw bytes  lowercase hex string                             {"attr":"SECCOMP","flags":0,"bpf":"2000..."}
 * A malformed plan prints "ocirt-init: plan: MESSAGE" on stderr and exits 1 (lines for the attributes before
 * the bad one have been printed). docs/init-protocol.md lists every attribute's fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

static void print_json_string(const char *s)
{
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static void print_field(char kind, const struct plan_field *f)
{
  const char *s = f->str;
  switch (kind) {
  case 'u': printf("%u", (uint32_t)f->num); break;
  case 'U': printf("\"%llu\"", (unsigned long long)f->num); break;
  case 's': print_json_string(s); break;
  case 'l':
    putchar('[');
    for (uint64_t i = 0; i < f->num; s += strlen(s) + 1, i++) {
      if (i) putchar(',');
      print_json_string(s);
    }
    putchar(']');
    break;
  case 'g':
    putchar('[');
    for (uint32_t i = 0; i < f->len; i += 4) printf("%s%u", i ? "," : "", get_le32(f->bytes + i));
    putchar(']');
    break;
  case 'x':
    putchar('"');
    for (uint32_t i = 0; i < f->len; i++) printf("%02x", f->bytes[i]);
    putchar('"');
    break;
  }
}

static void print_attr_json(enum plan_attr attr, const struct plan_field *fields)
{
  const char *spec = plan_attr_fields(attr), *name;
  char kind;
  int ref, name_len;
  printf("{\"attr\":\"%s\"", plan_attr_name(attr));
  for (int i = 0; plan_next_field(&spec, &kind, &ref, &name, &name_len); i++) {
    printf(",\"%.*s\":", name_len, name);
    print_field(kind, &fields[i]);
  }
  printf("}\n");
}

int plan_print_stdin(void)
{
  static struct plan decoded;
  unsigned char *buf = malloc(FRAME_MAX_PAYLOAD);
  size_t len = 0;
  ssize_t n;
  if (!buf) return perror("ocirt-init: malloc"), 1;
  while ((n = read(0, buf + len, FRAME_MAX_PAYLOAD - len)) > 0) len += (size_t)n;
  if (n < 0) return perror("ocirt-init: read"), 1;
  if (len == FRAME_MAX_PAYLOAD) return fprintf(stderr, "ocirt-init: plan: larger than %u bytes\n", FRAME_MAX_PAYLOAD), 1;
  const char *err = plan_decode(&decoded, buf, (uint32_t)len, print_attr_json);
  fflush(stdout);
  if (err) return fprintf(stderr, "ocirt-init: plan: %s\n", err), 1;
  return 0;
}
