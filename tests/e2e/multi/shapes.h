enum shape_kind { RECT, SQUARE, TRIANGLE };
struct shape { enum shape_kind kind; long a, b; };
long shape_area(const struct shape *s);
const char *shape_name(enum shape_kind k);
extern int shape_calls;
void stats_add(long v);
long stats_total(void);
extern int stats_count;
extern long stats_max;
