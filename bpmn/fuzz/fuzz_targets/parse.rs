//! Any input: parsing never panics; whatever parses must round-trip to an
//! equal model and write deterministically; validation never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = bpmn::ParseOptions { max_size: 1 << 20, max_depth: 64 };
    if let Ok(defs) = bpmn::parse_bytes(data, &options) {
        let xml = bpmn::to_xml(&defs);
        let again = match bpmn::parse(&xml) {
            Ok(d) => d,
            Err(e) => panic!("written XML does not parse: {e}\n{xml}"),
        };
        assert!(defs == again, "round-trip changed the model:\n{xml}");
        assert_eq!(bpmn::to_xml(&again), xml, "writing is not deterministic");
        let _ = bpmn::validate(&defs);
    }
});
