/*
 * executor/standard_services.c — rivet_session_add_standard_services: the
 * services every executor has, and their SPS entry points in the bootstrap
 * table.
 *
 * Order matters at shutdown, which goes newest first: the memory map is
 * added last so its regions' dealloc actions (finalizers, EH frame
 * deregistration) run while the libraries and services they use are still
 * there; notifications are added first so shutdown callbacks see
 * everything already torn down.
 */
#include "executor/ci/ci.h"
#include "executor/services/services.h"

static rivet_error *add_notify(rivet_session *s)
{
    rivet_notify_service *ns;
    rivet_error *e = rivet_notify_service_create(&ns);
    return e ? e : rivet_session_add_service(s, rivet_notify_service_service(ns));
}

static rivet_error *add_dylib_manager(rivet_session *s)
{
    rivet_dylib_manager *dm;
    rivet_error *e = rivet_dylib_manager_create(&dm);
    if (!e)
        e = rivet_session_add_service(s, rivet_dylib_manager_service(dm));
    if (!e)
        e = rv_ci_sps_dylib_register(s, dm);
    return e ? e : rv_ci_sps_copy_reloc_register(s);
}

static rivet_error *add_unwind_registrar(rivet_session *s)
{
    rivet_service *svc;
    rivet_error *e = rv_unwind_registrar_create(&svc);
    if (!e)
        e = rivet_session_add_service(s, svc);
    return e ? e : rv_ci_sps_unwind_register(s);
}

static rivet_error *add_program_runner(rivet_session *s)
{
    rivet_service *svc;
    rivet_error *e = rv_program_runner_create(&svc);
    if (!e)
        e = rivet_session_add_service(s, svc);
    return e ? e : rv_ci_sps_program_register(s);
}

static rivet_error *add_tls(rivet_session *s)
{
    rivet_service *svc;
    rivet_error *e = rv_tls_service_create(&svc);
    if (!e)
        e = rivet_session_add_service(s, svc);
    return e ? e : rv_ci_sps_tls_register(s, svc);
}

static rivet_error *add_memory_map(rivet_session *s)
{
    rivet_memory_map *mm;
    rivet_error *e = rivet_memory_map_create(&mm);
    if (!e)
        e = rivet_session_add_service(s, rivet_memory_map_service(mm));
    if (!e)
        e = rv_ci_sps_memory_map_register(s, mm);
    return e ? e : rv_ci_json_memory_map_register(s);
}

rivet_error *rivet_session_add_standard_services(rivet_session *s)
{
    rivet_error *e = add_notify(s);
    if (!e)
        e = add_dylib_manager(s);
    if (!e)
        e = add_unwind_registrar(s);
    if (!e)
        e = add_program_runner(s);
    if (!e)
        e = add_tls(s);
    if (!e)
        e = add_memory_map(s);
    return rivet_error_wrap(e, "session: add standard services");
}
