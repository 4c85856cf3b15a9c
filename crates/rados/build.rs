//! Links Debian's librados (package librados-dev: /usr/lib/<triple>/librados.so).
fn main() {
    println!("cargo:rustc-link-lib=dylib=rados");
    println!("cargo:rerun-if-changed=build.rs");
}
