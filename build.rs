//! Build script: only one workaround, for ROS 2 installed from PyPI wheels.
//!
//! Some libraries in that install (`*__rosidl_generator_py.so`, pulled in by
//! rmw_fastrtps) need libpython's symbols without linking libpython. The
//! workbench's env file names libpython in ROS2_DORA_BRIDGE_LINK_LIBPYTHON,
//! and we link it in (with an rpath), because dora strips LD_PRELOAD from the
//! environment of the nodes it spawns. With a regular ROS install the
//! variable is unset and this does nothing.

fn main() {
    println!("cargo:rerun-if-env-changed=ROS2_DORA_BRIDGE_LINK_LIBPYTHON");
    if let Ok(libpython) = std::env::var("ROS2_DORA_BRIDGE_LINK_LIBPYTHON")
        && !libpython.is_empty()
    {
        let path = std::path::Path::new(&libpython);
        if let Some(dir) = path.parent() {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        }
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg={libpython}");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
