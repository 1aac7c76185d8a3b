//! Built against `launchplane:driver@0.3.0`; the 0.2 host must refuse it.
wit_bindgen::generate!({ world: "driver", path: "wit" });

struct Future;

impl Guest for Future {
    fn describe() -> String {
        launchplane::driver::log::emit("describing");
        "future".to_string()
    }
}

export!(Future);
