/* canopy user: people, for operators.
 *
 *   canopy user add --email E --name N [--admin] [--password-stdin]
 *   canopy user password --email E [--password-stdin]
 *   canopy user member --email E --tenant SLUG --role owner|editor|viewer
 *   canopy user member --email E --tenant SLUG --remove
 *
 * A password is never an argument (argv is visible to every user of the
 * machine in ps and lands in shell history): it is read from standard
 * input, prompted for twice without echo on a terminal, or taken as the
 * first line of a pipe.  Every change is audited with actor "cli" in the
 * same transaction. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "arena.h"
#include "audit.h"
#include "auth.h"
#include "cli_util.h"
#include "commands.h"
#include "crypto.h"
#include "str.h"

#define PW_BUF (AUTH_PASSWORD_MAX + 3) /* the password, "\r\n", NUL */

static int usage(void)
{
	fprintf(stderr,
		"usage: canopy user add --email E --name N [--admin]"
		" [--password-stdin]\n"
		"       canopy user password --email E [--password-stdin]\n"
		"       canopy user member --email E --tenant SLUG"
		" --role owner|editor|viewer\n"
		"       canopy user member --email E --tenant SLUG --remove\n"
		"The password is read from standard input (never from the"
		" command line).\n");
	return 2;
}

static int fail(const char *what, int rc, db_t *db)
{
	if (rc == ERR_DB)
		fprintf(stderr, "canopy user: %s: %s\n", what, db_error(db));
	else
		fprintf(stderr, "canopy user: %s: %s\n", what,
			err_code_name(rc));
	return 1;
}

/* One line from stdin into out, without its line end.  Returns the
 * length, or -1 at end of input or for a line too long. */
static long read_line(const char *prompt, bool echo_off, char out[PW_BUF])
{
	struct termios old, quiet;
	bool restore = false;
	if (prompt) {
		fputs(prompt, stderr);
		fflush(stderr);
	}
	if (echo_off && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	char *got = fgets(out, PW_BUF, stdin);
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!got)
		return -1;
	size_t n = strlen(out);
	bool ended = n > 0 && out[n - 1] == '\n';
	if (!ended && !feof(stdin))
		return -1; /* longer than any acceptable password */
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return (long)n;
}

/* The new password: from a pipe as given, from a terminal typed twice. */
static int read_password(bool from_stdin, char out[PW_BUF])
{
	bool tty = !from_stdin && isatty(STDIN_FILENO);
	long n = read_line(tty ? "Password: " : NULL, tty, out);
	if (n < 0) {
		fprintf(stderr, "canopy user: expected the password on standard"
				" input, one line of at most %d bytes\n",
			AUTH_PASSWORD_MAX);
		return 1;
	}
	const char *why;
	if (auth_password_check((str_t){out, (size_t)n}, &why) < 0) {
		fprintf(stderr, "canopy user: password refused: %s\n", why);
		return 1;
	}
	if (tty) {
		char again[PW_BUF];
		long m = read_line("Again: ", true, again);
		bool same = m == n && crypto_equal(out, (size_t)n, again, (size_t)m);
		crypto_wipe(again, sizeof again);
		if (!same) {
			fprintf(stderr, "canopy user: the passwords differ\n");
			return 1;
		}
	}
	return 0;
}

typedef struct {
	const char *email, *name, *tenant, *role;
	bool admin, password_stdin, remove;
} opts_t;

static int options(int argc, char **argv, opts_t *o)
{
	memset(o, 0, sizeof *o);
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strcmp(a, "--email") == 0)
			slot = &o->email;
		else if (strcmp(a, "--name") == 0)
			slot = &o->name;
		else if (strcmp(a, "--tenant") == 0)
			slot = &o->tenant;
		else if (strcmp(a, "--role") == 0)
			slot = &o->role;
		else if (strcmp(a, "--admin") == 0)
			o->admin = true;
		else if (strcmp(a, "--password-stdin") == 0)
			o->password_stdin = true;
		else if (strcmp(a, "--remove") == 0)
			o->remove = true;
		else if (strcmp(a, "--password") == 0) {
			fprintf(stderr, "canopy user: a password is never given"
					" on the command line; pipe it to"
					" standard input\n");
			return 2;
		} else
			return usage();
		if (slot) {
			if (i + 1 >= argc)
				return usage();
			*slot = argv[++i];
		}
	}
	return o->email ? 0 : usage();
}

/* Runs the audited change: begin, fn, commit; rolls back on failure. */
static int commit_or_fail(db_t *db, int rc, const char *what)
{
	if (rc == 0)
		rc = db_commit(db);
	if (rc < 0) {
		db_rollback(db);
		return fail(what, rc, db);
	}
	return 0;
}

static int user_add(db_t *db, arena_t *a, const opts_t *o)
{
	const char *email, *name, *why;
	if (!o->name)
		return usage();
	if (auth_email_normalize(a, str_c(o->email), &email, &why) < 0 ||
	    auth_name_check(a, str_c(o->name), &name, &why) < 0) {
		fprintf(stderr, "canopy user: %s\n", why);
		return 1;
	}
	char pw[PW_BUF];
	if (read_password(o->password_stdin, pw)) {
		crypto_wipe(pw, sizeof pw);
		return 1;
	}
	auth_user_t u;
	int rc = db_begin(db);
	if (rc == 0)
		rc = auth_user_create(db, a, str_c(email), str_c(name),
				      str_c(pw), o->admin, &u);
	crypto_wipe(pw, sizeof pw);
	if (rc == ERR_CONFLICT) {
		db_rollback(db);
		fprintf(stderr, "canopy user: %s already has an account\n",
			email);
		return 1;
	}
	if (rc == 0) {
		json_t *after = json_pack("{s:s,s:s,s:b}", "email", u.email,
					  "name", u.name, "is_admin", u.is_admin);
		audit_entry_t e = {.actor = "cli",
				   .action = "user.create",
				   .object_type = "user",
				   .object_id = arena_printf(a, "%lld", u.id)};
		rc = audit_write_entry(db, a, &e, NULL, after);
		json_decref(after);
	}
	if (commit_or_fail(db, rc, "add"))
		return 1;
	printf("user %lld created: %s%s\n", u.id, u.email,
	       u.is_admin ? " (platform admin)" : "");
	return 0;
}

static int user_password(db_t *db, arena_t *a, const opts_t *o)
{
	auth_user_t u;
	int rc = auth_user_find(db, a, str_c(o->email), &u);
	if (rc == ERR_NOT_FOUND || rc == ERR_INVALID) {
		fprintf(stderr, "canopy user: no user '%s'\n", o->email);
		return 1;
	}
	if (rc < 0)
		return fail("password", rc, db);
	char pw[PW_BUF];
	if (read_password(o->password_stdin, pw)) {
		crypto_wipe(pw, sizeof pw);
		return 1;
	}
	rc = db_begin(db);
	if (rc == 0)
		rc = auth_user_set_password(db, a, u.id, str_c(pw), 0);
	crypto_wipe(pw, sizeof pw);
	if (rc == 0) {
		audit_entry_t e = {.actor = "cli",
				   .action = "user.password",
				   .object_type = "user",
				   .object_id = arena_printf(a, "%lld", u.id)};
		rc = audit_write_entry(db, a, &e, NULL, NULL);
	}
	if (commit_or_fail(db, rc, "password"))
		return 1;
	printf("password of %s changed; their sessions are signed out\n",
	       u.email);
	return 0;
}

static int user_member(db_t *db, arena_t *a, const opts_t *o)
{
	auth_role_t role = AUTH_ROLE_NONE;
	if (!o->tenant || (o->remove == (o->role != NULL)))
		return usage();
	if (o->role && (auth_role_parse(str_c(o->role), &role) < 0 ||
			role == AUTH_ROLE_NONE || role == AUTH_ROLE_ADMIN)) {
		fprintf(stderr, "canopy user: --role is owner, editor or"
				" viewer\n");
		return 2;
	}
	auth_user_t u;
	int rc = auth_user_find(db, a, str_c(o->email), &u);
	if (rc == ERR_NOT_FOUND || rc == ERR_INVALID) {
		fprintf(stderr, "canopy user: no user '%s'\n", o->email);
		return 1;
	}
	if (rc < 0)
		return fail("member", rc, db);
	long long tid;
	if (cli_tenant_id(db, a, "user", o->tenant, &tid))
		return 1;

	auth_role_t before = AUTH_ROLE_NONE;
	if ((rc = db_begin(db)) < 0)
		return fail("member", rc, db);
	if (o->remove)
		rc = auth_member_remove(db, a, u.id, tid, &before);
	else
		rc = auth_member_set(db, a, u.id, tid, role, &before);
	if (rc == ERR_NOT_FOUND) {
		db_rollback(db);
		fprintf(stderr, "canopy user: %s is not a member of %s\n",
			u.email, o->tenant);
		return 1;
	}
	if (rc == 0) {
		json_t *old = before == AUTH_ROLE_NONE
				      ? NULL
				      : json_pack("{s:s,s:s}", "user", u.email,
						  "role", auth_role_name(before));
		json_t *new = o->remove ? NULL
					: json_pack("{s:s,s:s}", "user", u.email,
						    "role", auth_role_name(role));
		audit_entry_t e = {.tenant_id = tid,
				   .actor = "cli",
				   .action = o->remove ? "member.remove"
						       : "member.set",
				   .object_type = "membership",
				   .object_id = arena_printf(a, "%lld", u.id)};
		rc = audit_write_entry(db, a, &e, old, new);
		json_decref(old);
		json_decref(new);
	}
	if (commit_or_fail(db, rc, "member"))
		return 1;
	if (o->remove)
		printf("%s is no longer a member of %s\n", u.email, o->tenant);
	else
		printf("%s is %s of %s%s\n", u.email, auth_role_name(role),
		       o->tenant,
		       before != AUTH_ROLE_NONE && before != role
			       ? arena_printf(a, " (was %s)",
					      auth_role_name(before))
			       : "");
	return 0;
}

int cmd_user(const config_t *cfg, db_t *db, int argc, char **argv)
{
	(void)cfg;
	if (argc < 2)
		return usage();
	opts_t o;
	int rc = options(argc, argv, &o);
	if (rc)
		return rc;
	arena_t *a = arena_new(0);
	if (strcmp(argv[1], "add") == 0)
		rc = user_add(db, a, &o);
	else if (strcmp(argv[1], "password") == 0)
		rc = user_password(db, a, &o);
	else if (strcmp(argv[1], "member") == 0)
		rc = user_member(db, a, &o);
	else
		rc = usage();
	arena_free(a);
	return rc;
}
