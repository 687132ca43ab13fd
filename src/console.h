/*
 * The operator console over HTTP (console.c): its routes are
 * console_routes (http.h); console_init() takes the page's directory.
 */
#ifndef KV_CONSOLE_H
#define KV_CONSOLE_H

#include "config.h"

/*
 * Takes console_dir (already located by admin_load_templates()); warns
 * when the page is not there.  Call once before serving.
 */
void console_init(const struct config *cfg);

#endif
