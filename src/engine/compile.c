/*
 * engine/compile.c — turn a source module into an object in memory.
 *
 * The compiler ($CC, $CXX, or clang-14 for LLVM IR) runs in a private
 * temporary directory: `<cc> FLAGS -c SRC -o DIR/out.o -MD -MF DIR/out.d`.
 * The object is read into memory, the dependency list (-MD) becomes the
 * headers the cache entry records, and the directory is deleted, so
 * nothing is left on disk. Sources given as text, and files starting with
 * a `#!` line, are compiled from a copy in that directory; for the latter
 * the first line becomes `#line 2 "FILE"` so diagnostics and __LINE__ name
 * the original, and -iquote keeps `#include "x.h"` relative to it.
 *
 * The compiler's identity (its --version output) is part of every cache
 * key. It is asked once per process, and remembered on disk next to the
 * cache keyed by the binary's device, inode, size and mtime, so a warm run
 * starts no process at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine_internal.h"

extern char **environ;

static rivet_error *nomem(void) {
    return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
}

/* ------------------------------------------------------------------- files */

rivet_error *rv_read_file(const char *path, uint8_t **data, size_t *size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rivet_error_from_errno(errno, "%s: cannot open", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int err = errno;
        close(fd);
        return rivet_error_from_errno(err ? err : EINVAL, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return nomem();
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int err = r < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return rivet_error_from_errno(err, "%s: cannot read", path);
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    *size = n;
    return NULL;
}

static bool write_all(int fd, const void *data, size_t size) {
    const uint8_t *p = data;
    while (size) {
        ssize_t w = write(fd, p, size);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        size -= (size_t)w;
    }
    return true;
}

rivet_error *rv_write_file_atomic(const char *path, const void *data,
                                  size_t size) {
    char tmp[PATH_MAX];
    static unsigned counter;
    unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), n) >=
        (int)sizeof tmp)
        return rivet_error_create(RIVET_ERR_IO, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return rivet_error_from_errno(errno, "%s: cannot create", tmp);
    bool ok = write_all(fd, data, size);
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        unlink(tmp);
        return rivet_error_from_errno(err, "%s: cannot write", path);
    }
    return NULL;
}

bool rv_hash_file(const char *path, uint8_t digest[32]) {
    uint8_t *data;
    size_t size;
    rivet_error *e = rv_read_file(path, &data, &size);
    if (e) {
        rivet_error_free(e);
        return false;
    }
    rv_sha256_bytes(data, size, digest);
    free(data);
    return true;
}

/* -------------------------------------------------------------- processes */

/* Run argv with stdout and stderr into *output (malloc'd, NUL-terminated);
 * *status is the exit status, or 128+signal. */
static rivet_error *run_capture(char *const *argv, char **output, int *status) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return rivet_error_from_errno(errno, "pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return rivet_error_from_errno(rc, "cannot run '%s'", argv[0]);
    }
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (;;) {
        if (buf && len + 1024 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
                cap *= 2;
            }
        }
        char sink[1024];
        ssize_t r = read(fds[0], buf ? buf + len : sink, buf ? cap - len - 1 : sizeof sink);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (buf)
            len += (size_t)r;
    }
    close(fds[0]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (!buf)
        return nomem();
    buf[len] = 0;
    *output = buf;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return NULL;
}

/* "cc -O2 -c f.c" for -v and messages. */
static char *join_words(char *const *argv) {
    size_t n = 1;
    for (size_t i = 0; argv[i]; i++)
        n += strlen(argv[i]) + 1;
    char *s = malloc(n), *p = s;
    if (!s)
        return NULL;
    for (size_t i = 0; argv[i]; i++) {
        if (i)
            *p++ = ' ';
        size_t k = strlen(argv[i]);
        memcpy(p, argv[i], k);
        p += k;
    }
    *p = 0;
    return s;
}

/* --------------------------------------------------------------- compiler */

char **rv_compiler_words(rivet_module_kind kind) {
    const char *cmd;
    if (kind == RIVET_MODULE_LLVM_IR)
        cmd = "clang-14";
    else if (kind == RIVET_MODULE_CXX)
        cmd = getenv("CXX") && *getenv("CXX") ? getenv("CXX") : "c++";
    else
        cmd = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    char *copy = strdup(cmd);
    char **words = calloc(strlen(cmd) / 2 + 2, sizeof *words);
    if (!copy || !words) {
        free(copy);
        free(words);
        return NULL;
    }
    size_t n = 0;
    for (char *save, *w = strtok_r(copy, " \t", &save); w;
         w = strtok_r(NULL, " \t", &save))
        words[n++] = strdup(w);
    free(copy);
    for (size_t i = 0; i < n; i++)
        if (!words[i]) {
            rv_free_words(words);
            return NULL;
        }
    if (n == 0) {
        free(words);
        return NULL;
    }
    return words;
}

void rv_free_words(char **words) {
    for (size_t i = 0; words && words[i]; i++)
        free(words[i]);
    free(words);
}

/* The file PATH finds for `name`, as posix_spawnp would run it. */
static bool find_program(const char *name, char out[PATH_MAX]) {
    if (strchr(name, '/'))
        return snprintf(out, PATH_MAX, "%s", name) < PATH_MAX && access(out, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (snprintf(out, PATH_MAX, "%.*s/%s", (int)len, len ? path : ".", name) < PATH_MAX &&
            access(out, X_OK) == 0)
            return true;
        path += len + (end ? 1 : 0);
    }
    return false;
}

typedef struct identity_memo {
    char *key;
    char *text;
    struct identity_memo *next;
} identity_memo;

static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static identity_memo *memos; /* kept until exit */

/* "dev ino size mtime" of the compiler binary: what must not change for a
 * remembered --version to stay true. */
static bool binary_signature(const char *word, char sig[128]) {
    char path[PATH_MAX];
    struct stat st;
    if (!find_program(word, path) || stat(path, &st) != 0)
        return false;
    snprintf(sig, 128, "%llu %llu %llu %lld.%09ld", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return true;
}

/* memo_dir/compilers/<hash of the command>: "SIGNATURE\nVERSION TEXT". */
static char *memo_path(const char *memo_dir, const char *key) {
    uint8_t d[32];
    char hex[65];
    rv_sha256_bytes(key, strlen(key), d);
    rv_hex(d, 16, hex);
    size_t n = strlen(memo_dir) + 64;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/compilers/%s", memo_dir, hex);
    return p;
}

static char *read_disk_memo(const char *file, const char *sig) {
    uint8_t *data;
    size_t size;
    rivet_error *e = rv_read_file(file, &data, &size);
    if (e) {
        rivet_error_free(e);
        return NULL;
    }
    size_t sl = strlen(sig);
    char *text = NULL;
    if (size > sl && memcmp(data, sig, sl) == 0 && data[sl] == '\n')
        text = strdup((char *)data + sl + 1);
    free(data);
    return text;
}

static void write_disk_memo(const char *memo_dir, const char *file,
                            const char *sig, const char *text) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/compilers", memo_dir);
    mkdir(memo_dir, 0755);
    mkdir(dir, 0755);
    size_t n = strlen(sig) + strlen(text) + 2;
    char *buf = malloc(n);
    if (!buf)
        return;
    snprintf(buf, n, "%s\n%s", sig, text);
    rivet_error_free(rv_write_file_atomic(file, buf, n - 1));
    free(buf);
}

static rivet_error *ask_version(char *const *words, char **text) {
    size_t n = 0;
    while (words[n])
        n++;
    char **argv = calloc(n + 2, sizeof *argv);
    if (!argv)
        return nomem();
    memcpy(argv, words, n * sizeof *argv);
    argv[n] = "--version";
    int status;
    rivet_error *e = run_capture(argv, text, &status);
    if (!e && status != 0) {
        e = rivet_error_create(RIVET_ERR_GENERIC, "'%s --version' failed (status %d): %s",
                               words[0], status, *text);
        free(*text);
    }
    free(argv);
    return e;
}

static rivet_error *find_identity(char *const *words, const char *memo_dir,
                                  const char *key, char **text) {
    char sig[128];
    bool have_sig = memo_dir && binary_signature(words[0], sig);
    char *file = have_sig ? memo_path(memo_dir, key) : NULL;
    *text = file ? read_disk_memo(file, sig) : NULL;
    rivet_error *e = NULL;
    if (!*text) {
        e = ask_version(words, text);
        if (!e && file)
            write_disk_memo(memo_dir, file, sig, *text);
    }
    free(file);
    return e;
}

rivet_error *rv_compiler_identity(char *const *words, const char *memo_dir,
                                  const char **out) {
    char *key = join_words(words);
    if (!key)
        return nomem();
    pthread_mutex_lock(&memo_lock);
    identity_memo *m = memos;
    while (m && strcmp(m->key, key) != 0)
        m = m->next;
    rivet_error *e = NULL;
    if (!m) {
        char *text;
        e = find_identity(words, memo_dir, key, &text);
        if (!e) {
            m = calloc(1, sizeof *m);
            if (!m) {
                free(text);
                e = nomem();
            } else {
                m->key = key;
                key = NULL;
                m->text = text;
                m->next = memos;
                memos = m;
            }
        }
    }
    pthread_mutex_unlock(&memo_lock);
    free(key);
    if (!e)
        *out = m->text;
    return e;
}

/* ------------------------------------------------------------- compiling */

static const char *extension_for(rivet_module_kind kind) {
    switch (kind) {
    case RIVET_MODULE_CXX: return ".cpp";
    case RIVET_MODULE_ASM: return ".s";
    case RIVET_MODULE_ASM_CPP: return ".S";
    case RIVET_MODULE_LLVM_IR: return ".ll";
    default: return ".c";
    }
}

static bool has_headers(rivet_module_kind kind) {
    return kind == RIVET_MODULE_C || kind == RIVET_MODULE_CXX ||
           kind == RIVET_MODULE_ASM_CPP;
}

static bool is_shebang(const rv_compile_request *r) {
    return r->text_size >= 2 && r->text[0] == '#' && r->text[1] == '!';
}

/* The source the compiler reads when it cannot read the original: text
 * modules, and scripts whose `#!` line is replaced by a #line directive. */
static rivet_error *write_copy(const rv_compile_request *r, const char *dir,
                               char copy[PATH_MAX]) {
    const char *name = r->path ? r->path : r->name;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    const char *ext = extension_for(r->kind);
    size_t bl = strlen(base), el = strlen(ext);
    bool has_ext = bl > el && strcmp(base + bl - el, ext) == 0;
    if (snprintf(copy, PATH_MAX, "%s/%s%s", dir, *base ? base : "module",
                 has_ext ? "" : ext) >= PATH_MAX)
        return rivet_error_create(RIVET_ERR_IO, "%s: name too long", name);
    const char *body = r->text;
    size_t body_size = r->text_size;
    char *head = NULL;
    if (r->path && is_shebang(r)) {
        const char *nl = memchr(r->text, '\n', r->text_size);
        body = nl ? nl : r->text + r->text_size;
        body_size = r->text_size - (size_t)(body - r->text);
        size_t n = 2 * strlen(r->path) + 16, k = 0;
        head = malloc(n);
        if (!head)
            return nomem();
        k += (size_t)snprintf(head, n, "#line 2 \"");
        for (const char *p = r->path; *p; p++) {
            if (*p == '"' || *p == '\\')
                head[k++] = '\\';
            head[k++] = *p;
        }
        head[k++] = '"';
        head[k] = 0;
        if (!nl) {
            head[k++] = '\n';
            head[k] = 0;
        }
    }
    int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    rivet_error *e = NULL;
    if (fd < 0)
        e = rivet_error_from_errno(errno, "%s: cannot create", copy);
    else {
        if (!(head ? write_all(fd, head, strlen(head)) : true) ||
            !write_all(fd, body, body_size))
            e = rivet_error_from_errno(errno, "%s: cannot write", copy);
        close(fd);
    }
    free(head);
    return e;
}

typedef struct argv_builder {
    char **v;
    size_t n, cap;
    bool failed;
} argv_builder;

static void push_arg(argv_builder *a, const char *s) {
    if (a->failed)
        return;
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **v = realloc(a->v, cap * sizeof *v);
        if (!v) {
            a->failed = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n] = strdup(s);
    if (!a->v[a->n]) {
        a->failed = true;
        return;
    }
    a->v[++a->n] = NULL;
}

static void free_argv(argv_builder *a) {
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

static rivet_error *add_dep(rv_compile_result *out, const char *path,
                            const char *source) {
    char real[PATH_MAX];
    if (!realpath(path, real))
        return rivet_error_from_errno(errno, "header %s", path);
    if (strcmp(real, source) == 0)
        return NULL;
    rv_dep *d = realloc(out->deps, (out->dep_count + 1) * sizeof *d);
    if (!d)
        return nomem();
    out->deps = d;
    d = &out->deps[out->dep_count];
    if (!(d->path = strdup(real)))
        return nomem();
    out->dep_count++;
    if (!rv_hash_file(real, d->hash))
        return rivet_error_create(RIVET_ERR_IO, "header %s: cannot read", real);
    return NULL;
}

/* Make syntax as gcc and clang write it: "out.o: a.c b.h \<newline> c.h",
 * with "\ " for a space in a name. */
static rivet_error *parse_deps(const char *text, const char *source,
                               rv_compile_result *out) {
    const char *p = strstr(text, ": ");
    if (!p)
        p = strchr(text, ':');
    if (!p)
        return NULL;
    p++;
    char word[PATH_MAX];
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' ||
               (p[0] == '\\' && p[1] == '\n'))
            p += (*p == '\\') ? 2 : 1;
        if (!*p)
            return NULL;
        size_t n = 0;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && n + 1 < sizeof word) {
            if (p[0] == '\\' && (p[1] == ' ' || p[1] == '#'))
                p++;
            else if (p[0] == '$' && p[1] == '$')
                p++;
            else if (p[0] == '\\' && p[1] == '\n')
                break;
            word[n++] = *p++;
        }
        word[n] = 0;
        if (n) {
            rivet_error *e = add_dep(out, word, source);
            if (e)
                return e;
        }
    }
}

static void remove_dir(const char *dir, const char *copy) {
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/out.o", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/out.d", dir);
    unlink(p);
    if (copy[0])
        unlink(copy);
    rmdir(dir);
}

static void build_argv(const rv_compile_request *r, const char *src,
                       const char *dir, char *const *words, argv_builder *a) {
    char buf[PATH_MAX + 16];
    for (size_t i = 0; words[i]; i++)
        push_arg(a, words[i]);
    for (size_t i = 0; i < r->flag_count; i++)
        push_arg(a, r->flags[i]);
    if (r->path && src != r->path) { /* a script's copy: includes as from the original */
        char real[PATH_MAX];
        if (realpath(r->path, real)) {
            char *slash = strrchr(real, '/');
            if (slash)
                *slash = 0;
            push_arg(a, "-iquote");
            push_arg(a, real[0] ? real : "/");
        }
    }
    push_arg(a, "-c");
    push_arg(a, src);
    push_arg(a, "-o");
    snprintf(buf, sizeof buf, "%s/out.o", dir);
    push_arg(a, buf);
    if (has_headers(r->kind)) {
        push_arg(a, "-MD");
        push_arg(a, "-MF");
        snprintf(buf, sizeof buf, "%s/out.d", dir);
        push_arg(a, buf);
    }
}

static void log_message(const rv_compile_request *r, const char *prefix,
                        const char *text) {
    if (!r->log)
        return;
    size_t n = strlen(prefix) + strlen(text) + 1;
    char *m = malloc(n);
    if (!m)
        return;
    snprintf(m, n, "%s%s", prefix, text);
    r->log(r->log_ctx, m);
    free(m);
}

/* Compile `src` and collect object and headers; `dir` is ours. */
static rivet_error *compile_in(const rv_compile_request *r, const char *src,
                               const char *dir, rv_compile_result *out) {
    char **words = rv_compiler_words(r->kind);
    if (!words)
        return nomem();
    argv_builder a = {0};
    build_argv(r, src, dir, words, &a);
    rv_free_words(words);
    if (a.failed) {
        free_argv(&a);
        return nomem();
    }
    char *cmd = join_words(a.v);
    if (cmd)
        log_message(r, "compile: ", cmd);
    char *output = NULL;
    int status = 0;
    rivet_error *e = run_capture(a.v, &output, &status);
    if (!e && status != 0)
        e = rivet_error_create(RIVET_ERR_GENERIC, "%s: compile failed (%s exit status %d)%s%s",
                               r->name, a.v[0], status, *output ? ":\n" : "", output);
    else if (!e && *output)
        log_message(r, "", output);
    free(output);
    free(cmd);
    free_argv(&a);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/out.o", dir);
    if (!e)
        e = rv_read_file(path, &out->object, &out->object_size);
    if (!e && has_headers(r->kind)) {
        uint8_t *deps;
        size_t size;
        char real[PATH_MAX];
        snprintf(path, sizeof path, "%s/out.d", dir);
        e = rv_read_file(path, &deps, &size);
        if (!e) {
            if (!realpath(src, real))
                snprintf(real, sizeof real, "%s", src);
            e = parse_deps((char *)deps, real, out);
            free(deps);
        }
    }
    return e;
}

rivet_error *rv_compile(const rv_compile_request *r, rv_compile_result *out) {
    memset(out, 0, sizeof *out);
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], copy[PATH_MAX] = "";
    snprintf(dir, sizeof dir, "%s/rivet-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return rivet_error_from_errno(errno, "%s: cannot create a temporary directory", dir);
    rivet_error *e = NULL;
    const char *src = r->path;
    if (!r->path || is_shebang(r)) {
        e = write_copy(r, dir, copy);
        src = copy;
    }
    if (!e)
        e = compile_in(r, src, dir, out);
    remove_dir(dir, copy);
    if (e)
        rv_compile_result_free(out);
    return e;
}

void rv_compile_result_free(rv_compile_result *r) {
    free(r->object);
    for (size_t i = 0; i < r->dep_count; i++)
        free(r->deps[i].path);
    free(r->deps);
    memset(r, 0, sizeof *r);
}
