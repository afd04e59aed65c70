//! Tests that need PostgreSQL compile in only when `TANTALUM_TEST_POSTGRES`
//! names a server; otherwise they are ignored and reported as skipped.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=TANTALUM_TEST_POSTGRES");
    if std::env::var_os("TANTALUM_TEST_POSTGRES").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
