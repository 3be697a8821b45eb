/*
 * support/ptrvec.h — a growable array of pointers, for lists whose length
 * is not known ahead (objects of a link, blocks of a segment, slabs).
 */
#ifndef RIVET_SUPPORT_PTRVEC_H
#define RIVET_SUPPORT_PTRVEC_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rv_ptrvec {
    void **items;
    size_t count, capacity;
} rv_ptrvec;

/* Append; false when out of memory (the vector is unchanged). */
bool rv_ptrvec_push(rv_ptrvec *v, void *p);
void rv_ptrvec_free(rv_ptrvec *v);

#endif
