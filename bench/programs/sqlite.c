/* bench/programs/sqlite.c — a small SQLite workload (tables, FTS5, JSON) for
 * bench/realworld.sh and the archive tests. */
#include <stdio.h>
#include <sqlite3.h>
static int cb(void *u, int n, char **v, char **c) { for (int i = 0; i < n; i++) printf("%s=%s ", c[i], v[i] ? v[i] : "NULL"); printf("\n"); return 0; }
int main(void) {
  sqlite3 *db; char *err = 0;
  sqlite3_open(":memory:", &db);
  const char *sql = "create table t(a,b); insert into t values(1,'x'),(2,'y'); select a, b, a*10 from t;"
    "create virtual table f using fts5(body); insert into f values('hello world'),('other text'); select * from f where f match 'hello';"
    "select json_extract('{\"a\":[1,2,3]}', '$.a[2]') as j;";
  if (sqlite3_exec(db, sql, cb, 0, &err) != SQLITE_OK) printf("err %s\n", err);
  printf("version %s\n", sqlite3_libversion());
  sqlite3_close(db);
  return 0;
}
