// Builds the small C layer over the system's libjpeg-turbo (see csrc/jpeg_shim.c
// for why it is C) and links the library. scripts/bootstrap installs the
// headers (Debian: libjpeg62-turbo-dev).
fn main() {
    println!("cargo:rerun-if-changed=csrc/jpeg_shim.c");
    cc::Build::new()
        .file("csrc/jpeg_shim.c")
        .opt_level(2)
        .warnings(true)
        .compile("tantalum_jpeg_shim");
    println!("cargo:rustc-link-lib=jpeg");
}
