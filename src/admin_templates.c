/*
 * The templates `serve` and `check-config` load at start: the IVR's XML and
 * the DLT SMS texts, each directory found beside the program or where
 * `make install` puts it when the configured relative one is not here (and
 * the operator console's page directory, found the same way).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "engine.h"
#include "ivr_xml.h"
#include "sms.h"

/*
 * Where `make install` puts the templates (`make` passes datadir); the last
 * place a relative xml_templates or sms_templates setting is looked for.
 */
#ifndef KV_DATADIR
#define KV_DATADIR "/usr/local/share/kookooverify"
#endif

/*
 * A relative template directory (dir, dirlen bytes) that does not exist
 * from here is looked for beside the program (bin/../xml_templates), so the
 * binary works from any working directory of a checkout, then where `make
 * install` puts it.
 */
static void locate_dir(char *dir, size_t dirlen)
{
	char exe[512], path[1100];
	ssize_t n;
	char *slash;

	if (dir[0] == '/' || access(dir, R_OK) == 0)
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/../%s", exe, dir);
			if (access(path, R_OK) == 0)
				goto found;
		}
	}
	snprintf(path, sizeof(path), "%s/%s", KV_DATADIR, dir);
	if (access(path, R_OK) != 0)
		return;
found:
	if (strlen(path) < dirlen)
		memcpy(dir, path, strlen(path) + 1);
}

int admin_load_templates(struct config *cfg, char *err, size_t errlen)
{
	int expiry = cfg->pin_expiry > ENGINE_PIN_EXPIRY_MAX_S
			     ? cfg->pin_expiry
			     : ENGINE_PIN_EXPIRY_MAX_S;
	/* The longest values the server may fill in: the DLT checks. */
	struct sms_limits lim = {
		.code_max = ENGINE_PIN_MAX,
		.minutes_max = (expiry + 59) / 60,
	};
	int rc;

	locate_dir(cfg->xml_templates, sizeof(cfg->xml_templates));
	locate_dir(cfg->sms_templates, sizeof(cfg->sms_templates));
	/* Not a template, but found the same way (make install puts it). */
	locate_dir(cfg->console_dir, sizeof(cfg->console_dir));
	rc = ivr_xml_load(cfg->xml_templates, err, errlen);
	if (rc == 0) {
		rc = sms_templates_load(cfg->sms_templates, &lim, err, errlen);
		if (rc != 0)
			ivr_xml_free();
	}
	return rc;
}
