//! Built against `launchplane:driver@0.4.0`; the 0.3 host must refuse it.
wit_bindgen::generate!({ world: "driver", path: "wit" });

struct Future;

impl Guest for Future {
    fn describe() -> String {
        launchplane::driver::log::emit("describing");
        "future".to_string()
    }
}

export!(Future);
