/* libsqlite3.a: tables, an index, aggregates, a prepared statement with
 * bound parameters, a user-defined function, FTS5 and JSON. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static int print_row(void *unused, int n, char **vals, char **cols) {
    (void)unused;
    for (int i = 0; i < n; i++)
        printf("%s%s=%s", i ? " " : "", cols[i], vals[i] ? vals[i] : "NULL");
    printf("\n");
    return 0;
}

static void reverse_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    (void)argc;
    const unsigned char *s = sqlite3_value_text(argv[0]);
    if (!s) { sqlite3_result_null(ctx); return; }
    size_t n = strlen((const char *)s);
    char buf[256];
    if (n >= sizeof buf) n = sizeof buf - 1;
    for (size_t i = 0; i < n; i++) buf[i] = (char)s[n - 1 - i];
    sqlite3_result_text(ctx, buf, (int)n, SQLITE_TRANSIENT);
}

static int exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, print_row, NULL, &err) != SQLITE_OK) {
        printf("error: %s\n", err);
        sqlite3_free(err);
        return 1;
    }
    return 0;
}

int main(void) {
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
    sqlite3_create_function(db, "reverse", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                            NULL, reverse_fn, NULL, NULL);
    int bad = 0;
    bad |= exec(db, "create table t(id integer primary key, name text, score real);"
                    "create index t_score on t(score);");
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "insert into t(name, score) values(?, ?)", -1, &st, NULL);
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "name%03d", i);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(st, 2, (i * 37 % 101) / 4.0);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    bad |= exec(db, "select count(*) as n, sum(score) as total, max(score) as top from t;"
                    "select name, score from t where score > 24 order by score desc, name limit 3;"
                    "select reverse(name) as r from t where id = 7;"
                    "select printf('%.3f', avg(score)) as avg, group_concat(id % 7) as g from t where id < 10;");
    bad |= exec(db, "create virtual table docs using fts5(title, body);"
                    "insert into docs values('rivet', 'links relocatable objects into a process'),"
                    "('sqlite', 'a small fast reliable database engine'),"
                    "('zlib', 'compression with deflate, fast and small');"
                    "select title from docs where docs match 'fast' order by rank;"
                    "select title, snippet(docs, 1, '[', ']', '...', 4) as s from docs where docs match 'objects';");
    bad |= exec(db, "select json_extract('{\"a\":[1,2,{\"b\":\"deep\"}]}', '$.a[2].b') as j;"
                    "select json_group_array(id) as arr from t where id <= 5;"
                    "select key, value from json_each('{\"x\":1,\"y\":[2,3]}');");
    printf("version %s\n", sqlite3_libversion_number() >= 3000000 ? "3.x" : "old");
    sqlite3_close(db);
    return bad;
}
