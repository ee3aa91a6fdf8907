/* Small helpers every module uses: scope-bound cleanup, ownership transfer, checked number
 * parsing and whole-buffer fd I/O. Functions return 0 or -errno unless said otherwise. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
    free(*(void **)p);
}

static inline void closep(int *fd)
{
    if (*fd >= 0)
        (void)close(*fd);
}

static inline void fclosep(FILE **f)
{
    if (*f)
        (void)fclose(*f);
}

#define _cleanup_(f)     __attribute__((cleanup(f)))
#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand a pointer or fd out of a _cleanup_ variable: returns it and clears the variable. */
#define TAKE_PTR(p)              \
    __extension__({              \
        __typeof__(p) _tp = (p); \
        (p) = NULL;              \
        _tp;                     \
    })
#define TAKE_FD(fd)     \
    __extension__({     \
        int _tf = (fd); \
        (fd) = -1;      \
        _tf;            \
    })

#define _warn_unused_  __attribute__((warn_unused_result))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

/* Parse a decimal unsigned integer, the whole string, no sign, no overflow. */
int parse_u64(const char *s, uint64_t *ret) _warn_unused_;

/* Parse a non-negative decimal number such as "2.5" into thousandths ("2500"). */
int parse_milli(const char *s, uint64_t *ret) _warn_unused_;

/* Write all of @buf, retrying on EINTR and short writes. */
int fd_write_all(int fd, const void *buf, size_t len) _warn_unused_;

/* Write @s into the file at @path (O_WRONLY, no create). */
int write_file(const char *path, const char *s) _warn_unused_;

/* Read the whole file at @path (at most @max bytes) into a NUL-terminated malloc'd buffer. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len) _warn_unused_;

/* runbox's own small caches (probed versions, the language index): /var/cache/runbox for root,
 * else $XDG_CACHE_HOME/runbox or ~/.cache/runbox, into @buf; with @create, made when missing
 * (0755; ~/.cache 0700), errors ignored (a cache that cannot be written is only slower). */
void cache_home(char *buf, size_t len, bool create);

/* Write @len bytes of @data to @path through a temporary file beside it and rename(), mode
 * @mode: readers see the old file or the new one, never half. Returns 0 or -errno. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* Read a file holding one unsigned number (cgroup style). */
int read_u64_file(const char *path, uint64_t *ret) _warn_unused_;

/* Find "key N" in a flat-keyed file such as cpu.stat or memory.events. */
int read_keyed_u64(const char *path, const char *key, uint64_t *ret) _warn_unused_;

/* "@a/@b" into @buf; -ENAMETOOLONG if it does not fit. */
int path_join(char *buf, size_t len, const char *a, const char *b) _warn_unused_;

/* Send one byte over the unix socket @sock, with @fd attached (SCM_RIGHTS) unless it is -1.
 * Never raises SIGPIPE. */
int fd_send(int sock, char byte, int fd) _warn_unused_;

/* fork() with a socketpair of @type (SOCK_STREAM, SOCK_SEQPACKET; CLOEXEC) between the two:
 * returns the child's pid in the parent and 0 in the child, each with its own end in *@ret_sock
 * (the other end closed), or -errno with nothing open. */
pid_t fork_socketpair(int type, int *ret_sock) _warn_unused_;

/* Receive one byte from @sock (recvmsg @flags, plus MSG_CMSG_CLOEXEC) and the fd attached to it,
 * or -1 in @ret_fd when none came. Returns 0, -EPIPE at end of stream, or -errno. */
int fd_recv(int sock, int flags, int *ret_fd) _warn_unused_;

/* Monotonic clock in microseconds. */
uint64_t now_us(void);

/* printf into @err (@errlen bytes, cut as snprintf cuts); returns -EINVAL, for parsers that say
 * what is wrong with their input. */
int set_error(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);

/* The wall clock (CLOCK_REALTIME) in unix milliseconds, for timestamps that are stored. */
int64_t unix_ms(void);

/* True when @s (length @len) is valid UTF-8 without NUL-free assumptions. */
bool utf8_valid(const char *s, size_t len);

/* The value of hexadecimal digit @c (either case), or -1. */
int hex_digit(char c);

/* strdup that aborts on OOM: for small strings from trusted data only. */
char *xstrdup(const char *s);

/* mkdir -p @path, with mode 0700 for what is missing. 0 or -errno. */
int mkdir_private(const char *path) _warn_unused_;

/* Told of each mode dir_make_private() changed: @name is relative to the directory ("." for
 * the directory itself), @old and @new the permission bits. */
typedef void (*private_fix_fn)(void *ctx, const char *name, mode_t old, mode_t new);

/* Make the directory @dir private to its owner: when missing, create it and its parents with
 * mode 0700; when present, take group and other permissions from it and from every regular
 * file and directory directly in it (runbox.db, its -wal and -shm, cache/, images/), calling
 * @on_fix (may be NULL) for each. Symlinks and what lies deeper are left alone.
 * Returns 0 or -errno. */
int dir_make_private(const char *dir, private_fix_fn on_fix, void *ctx) _warn_unused_;
