/*
 * sys/posix/file.c — input files, mapped read-only. Not prefaulted: an
 * object's debug sections are never read, and mapping them anyway cost more
 * than the faults it saved (measured on the synthetic link benchmark).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/sys.h"

rivet_error *rv_sys_map_file(const char *path, const uint8_t **data, size_t *size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rivet_error_from_errno(errno, "%s: cannot open", path);
    struct stat st;
    rivet_error *e = NULL;
    *data = NULL;
    *size = 0;
    if (fstat(fd, &st) != 0)
        e = rivet_error_from_errno(errno, "%s: cannot stat", path);
    else if (!S_ISREG(st.st_mode))
        e = rivet_error_create(RIVET_ERR_IO, "%s: not a regular file", path);
    else if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ,
                       MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            e = rivet_error_from_errno(errno, "%s: cannot map", path);
        else {
            *data = p;
            *size = (size_t)st.st_size;
        }
    }
    close(fd);
    return e;
}

void rv_sys_unmap_file(const void *data, size_t size) {
    if (data && size)
        munmap((void *)data, size);
}
