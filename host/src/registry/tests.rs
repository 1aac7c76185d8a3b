//! Descriptor rules, checked on descriptors built in memory. The
//! component-level refusals (files, digests, ids, WIT versions, imports,
//! base drivers) are tested against real components in `tests/all`.

use serde_json::json;

use super::*;

fn action(id: &str, path: &str) -> ActionDescriptor {
    ActionDescriptor {
        action_id: id.to_string(),
        label: id.to_string(),
        description: String::new(),
        safety: Safety::Mutation,
        scope: Scope::Instance,
        method: Method::Post,
        route_path: path.to_string(),
        authz_action: format!("{id}.execute"),
        operator_visible: true,
        input_schema: json!({"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}}),
        output_schema: json!({"type": "object"}),
        writes_records: vec!["deployment".to_string()],
        envelope_key: "deploy".to_string(),
        execution: Execution::Sync,
        idempotency: Idempotency::Optional,
        base_action: None,
    }
}

fn descriptor(id: &str) -> DriverDescriptor {
    DriverDescriptor {
        schema_version: 1,
        driver_id: id.to_string(),
        base_driver_id: String::new(),
        label: "Test".to_string(),
        product: id.to_string(),
        description: String::new(),
        context_patterns: vec![],
        provider_boundary: String::new(),
        capabilities: vec![],
        actions: vec![action(
            &format!("{}_deploy", id.replace('-', "_")),
            &format!("/v1/drivers/{id}/deploy"),
        )],
        setting_groups: vec![],
        api_version: crate::runtime::API_VERSION.to_string(),
        hooks_called: vec![],
        hooks_implemented: vec![],
        record_kinds: vec![],
        records_keys: vec![],
        digest: "sha256:00".to_string(),
    }
}

fn refused(d: &DriverDescriptor) -> String {
    validate_descriptor(&d.driver_id, d)
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn a_well_formed_descriptor_passes() {
    validate_descriptor("web", &descriptor("web")).expect("valid");
}

#[test]
fn a_route_outside_the_driver_prefix_is_refused() {
    let mut d = descriptor("web");
    d.actions[0].route_path = "/v1/drivers/other/deploy".to_string();
    assert_eq!(
        refused(&d),
        "driver `web`: actions[0] `web_deploy`.route_path: `/v1/drivers/other/deploy` is outside /v1/drivers/web/"
    );
    d.actions[0].route_path = "/v1/admin/deploy".to_string();
    assert!(refused(&d).contains("is outside /v1/drivers/web/"));
    d.actions[0].route_path = "/v1/drivers/web/".to_string();
    assert!(refused(&d).contains("must continue with lower-case path segments"));
}

#[test]
fn a_route_without_an_authz_action_is_refused() {
    let mut d = descriptor("web");
    d.actions[0].authz_action = " ".to_string();
    assert_eq!(
        refused(&d),
        "driver `web`: actions[0] `web_deploy`.authz_action: is missing: every driver route must name the authorization action it checks"
    );
    d.actions[0].authz_action = "Deploy Everything".to_string();
    assert!(refused(&d).contains("must look like `noun.verb`"));
}

#[test]
fn a_destructive_get_is_refused() {
    let mut d = descriptor("web");
    d.actions[0].method = Method::Get;
    d.actions[0].safety = Safety::Destructive;
    assert_eq!(
        refused(&d),
        "driver `web`: actions[0] `web_deploy`.method: a destructive action cannot be declared as GET"
    );
}

#[test]
fn a_malformed_json_schema_is_refused() {
    let mut d = descriptor("web");
    d.actions[0].input_schema = json!({"type": "no-such-type"});
    let message = refused(&d);
    assert!(
        message.starts_with(
            "driver `web`: actions[0] `web_deploy`.input_schema: is not a valid JSON Schema"
        ),
        "{message}"
    );
    let mut d = descriptor("web");
    d.actions[0].output_schema = json!(["not", "a", "schema"]);
    assert!(refused(&d).contains("output_schema: is not a JSON Schema"));
}

#[test]
fn an_input_schema_admitting_unknown_fields_is_refused() {
    let mut d = descriptor("web");
    d.actions[0].input_schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    assert!(refused(&d).contains("the object at `/` admits unknown fields"));
    d.actions[0].input_schema = json!({
        "type": "object", "additionalProperties": false,
        "properties": {"nested": {"type": "object", "properties": {"b": {"type": "string"}}}}
    });
    assert!(refused(&d).contains("the object at `/properties/nested` admits unknown fields"));
}

#[test]
fn an_incompatible_api_version_is_refused() {
    let mut d = descriptor("web");
    d.api_version = "0.4.0".to_string();
    assert_eq!(
        refused(&d),
        "driver `web`: incompatible WIT version: api_version `0.4.0` does not match this host's launchplane:driver@0.3.0"
    );
}

#[test]
fn post_actions_need_a_non_reserved_envelope_key() {
    let mut d = descriptor("web");
    d.actions[0].envelope_key = String::new();
    assert!(refused(&d).contains("envelope_key: a POST action must name its envelope payload key"));
    d.actions[0].envelope_key = "product".to_string();
    assert!(refused(&d).contains("`product` is a reserved envelope field"));
}

#[test]
fn duplicate_actions_and_provider_names_are_refused() {
    let mut d = descriptor("web");
    d.actions.push(d.actions[0].clone());
    assert!(refused(&d).contains("is declared twice"));
    let mut d = descriptor("web");
    d.description = "Deploys through Dokploy".to_string();
    assert!(refused(&d).contains("mentions a provider by name"));
}

#[test]
fn one_authz_action_cannot_cover_different_safety_levels() {
    let mut d = descriptor("web");
    let mut read = action("web_status", "/v1/drivers/web/status");
    read.safety = Safety::Read;
    read.authz_action = d.actions[0].authz_action.clone();
    d.actions.push(read);
    assert!(refused(&d).contains("is shared by actions of different safety"));
}

#[test]
fn capabilities_must_name_declared_actions() {
    let mut d = descriptor("web");
    d.capabilities.push(CapabilityDescriptor {
        capability_id: "deployable".to_string(),
        label: "Deployable".to_string(),
        description: String::new(),
        actions: vec!["ghost".to_string()],
        panels: vec![],
    });
    assert!(refused(&d).contains("names unknown action `ghost`"));
}

#[test]
fn duplicate_routes_across_drivers_are_refused() {
    let a = descriptor("web");
    let mut b = descriptor("app");
    b.actions[0].route_path = a.actions[0].route_path.clone();
    let error = validate_together(&[&a, &b])
        .expect_err("duplicate route")
        .to_string();
    assert_eq!(
        error,
        "driver `app`: route POST /v1/drivers/web/deploy is already served by driver `web`"
    );
}

#[test]
fn driver_specific_authz_actions_are_unique_across_drivers() {
    let a = descriptor("web");
    let mut b = descriptor("app");
    b.actions[0].authz_action = a.actions[0].authz_action.clone();
    let error = validate_together(&[&a, &b])
        .expect_err("duplicate authz")
        .to_string();
    assert_eq!(
        error,
        "driver `app`: authz_action `web_deploy.execute` of action `app_deploy` is already declared by driver `web`; driver-specific authz actions must be unique"
    );
    // The host's evidence actions may be shared, as the original's
    // verification routes share `deployment.write`.
    let mut a = descriptor("web");
    let mut b = descriptor("app");
    a.actions[0].authz_action = "deployment.write".to_string();
    b.actions[0].authz_action = "deployment.write".to_string();
    validate_together(&[&a, &b]).expect("shared evidence action");
}

#[test]
fn base_drivers_must_be_loaded_and_acyclic() {
    let mut odoo = descriptor("odoo");
    odoo.base_driver_id = "generic-web".to_string();
    let error = validate_together(&[&odoo])
        .expect_err("unknown base")
        .to_string();
    assert_eq!(
        error,
        "driver `odoo`: base_driver_id `generic-web` is not loaded"
    );
    let mut a = descriptor("a");
    let mut b = descriptor("b");
    a.base_driver_id = "b".to_string();
    b.base_driver_id = "a".to_string();
    assert!(
        validate_together(&[&a, &b])
            .expect_err("cycle")
            .to_string()
            .contains("forms a cycle")
    );
}

#[test]
fn a_driver_cannot_declare_host_only_record_kinds() {
    for kind in [
        "secret",
        "secret_version",
        "secret_binding",
        "runtime_environment",
    ] {
        let mut d = descriptor("web");
        d.actions[0].writes_records = vec![kind.to_string()];
        let message = refused(&d);
        assert!(
            message.contains("writes_records") && message.contains("belong to the host"),
            "{kind}: {message}"
        );
    }
}

fn kind(name: &str, mode: RecordMode) -> RecordKindDeclaration {
    RecordKindDeclaration {
        kind: name.to_string(),
        mode,
        description: String::new(),
    }
}

#[test]
fn driver_kinds_and_keys_are_new_names_and_written_only_when_declared() {
    let mut d = descriptor("web");
    d.record_kinds = vec![kind("deployment", RecordMode::State)];
    assert!(
        refused(&d).contains("is a kind the host keeps itself"),
        "{}",
        refused(&d)
    );
    d.record_kinds = vec![
        kind("web_plan", RecordMode::State),
        kind("web_plan", RecordMode::State),
    ];
    assert!(refused(&d).contains("is declared twice"));
    d.record_kinds = vec![kind("web_plan", RecordMode::State)];
    d.records_keys = vec![RecordsKey {
        key: "deployment_record_id".into(),
        object: false,
    }];
    assert!(refused(&d).contains("is a key the host knows"));
    d.records_keys = vec![RecordsKey {
        key: "web_plan_id".into(),
        object: false,
    }];
    validate_descriptor("web", &d).expect("valid");

    // A written kind must be the host's drivers may write, or declared.
    d.actions[0].writes_records = vec!["web_plan".into(), "product_profile".into()];
    let error = validate_together(&[&d]).expect_err("product_profile is read-only");
    assert!(error.to_string().contains("`product_profile`"), "{error}");
    d.actions[0].writes_records = vec!["web_plan".into(), "other_plan".into()];
    let error = validate_together(&[&d]).expect_err("undeclared");
    assert!(error.to_string().contains("`other_plan`"), "{error}");
    // An extension may write what its base declares.
    d.actions[0].writes_records = vec!["web_plan".into()];
    let mut ext = descriptor("ext");
    ext.base_driver_id = "web".into();
    ext.actions[0].writes_records = vec!["web_plan".into()];
    validate_together(&[&d, &ext]).expect("inherited kind");
    // Two drivers may not declare one kind two ways.
    ext.record_kinds = vec![kind("web_plan", RecordMode::Evidence)];
    let error = validate_together(&[&d, &ext]).expect_err("modes disagree");
    assert!(error.to_string().contains("with another mode"), "{error}");
}

#[test]
fn a_base_action_names_an_action_of_the_base_with_its_shape() {
    let web = descriptor("web");
    let mut ext = descriptor("ext");
    ext.actions[0].writes_records.clear();
    ext.actions[0].base_action = Some("web_deploy".into());
    assert!(refused(&ext).contains("only a driver that extends a base driver"));
    ext.base_driver_id = "web".into();
    validate_descriptor("ext", &ext).expect("valid alone");
    validate_together(&[&web, &ext]).expect("runs web_deploy");
    ext.actions[0].base_action = Some("missing".into());
    let error = validate_together(&[&web, &ext]).expect_err("unknown base action");
    assert!(
        error
            .to_string()
            .contains("is not an action of base driver `web`"),
        "{error}"
    );
    ext.actions[0].base_action = Some("web_deploy".into());
    ext.actions[0].scope = Scope::Context;
    let error = validate_together(&[&web, &ext]).expect_err("other scope");
    assert!(error.to_string().contains("another scope"), "{error}");
    ext.actions[0].scope = Scope::Instance;
    ext.actions[0].writes_records = vec!["deployment".into()];
    let error = validate_together(&[&web, &ext]).expect_err("own writes");
    assert!(
        error
            .to_string()
            .contains("writes what the base action declares"),
        "{error}"
    );
}
