#include "shapes.h"

int shape_calls;
static const char *const names[] = { "rect", "square", "triangle" };

long shape_area(const struct shape *s)
{
    shape_calls++;
    switch (s->kind) {
    case RECT: return s->a * s->b;
    case SQUARE: return s->a * s->a;
    default: return s->a * s->b / 2;
    }
}

const char *shape_name(enum shape_kind k)
{
    shape_calls++;
    return names[k];
}
