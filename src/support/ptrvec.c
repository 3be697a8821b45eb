/*
 * support/ptrvec.c — growable pointer arrays (see ptrvec.h).
 */
#include "support/ptrvec.h"

#include <stdlib.h>

bool rv_ptrvec_push(rv_ptrvec *v, void *p) {
    if (v->count == v->capacity) {
        size_t cap = v->capacity ? v->capacity * 2 : 16;
        void **items = realloc(v->items, cap * sizeof *items);
        if (!items)
            return false;
        v->items = items;
        v->capacity = cap;
    }
    v->items[v->count++] = p;
    return true;
}

void rv_ptrvec_free(rv_ptrvec *v) {
    free(v->items);
    v->items = NULL;
    v->count = v->capacity = 0;
}
