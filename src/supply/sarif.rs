//! Vulnerability counts from a SARIF 2.1.0 scan report (Trivy, Grype, … `--format sarif`).
//!
//! Input: the report's JSON bytes. Output: [`VulnerabilityCounts`] per severity, or why the
//! report cannot be read. Severity comes from `security-severity` (a number, or a string
//! holding one, as GitHub code scanning reads it): the result's own `properties`, else its
//! rule's (found by `ruleIndex`, else by `ruleId`, in the run's driver and extensions):
//! ≥ 9.0 critical, ≥ 7.0 high, ≥ 4.0 medium, anything else — or none — low. A vulnerability
//! is counted once per run however many locations report it: results with the same `ruleId`
//! count once, at the highest severity given to it (results without a `ruleId` each count).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::model::VulnerabilityCounts;

#[derive(Deserialize)]
struct Log {
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    #[serde(default)]
    tool: Option<Tool>,
    #[serde(default)]
    results: Option<Vec<ResultItem>>,
}

#[derive(Deserialize)]
struct Tool {
    #[serde(default)]
    driver: Option<Component>,
    #[serde(default)]
    extensions: Vec<Component>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    properties: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultItem {
    #[serde(default)]
    rule_id: Option<String>,
    #[serde(default)]
    rule_index: Option<usize>,
    #[serde(default)]
    properties: Option<BTreeMap<String, Value>>,
}

fn severity_of(props: Option<&BTreeMap<String, Value>>) -> Option<f64> {
    match props?.get("security-severity")? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Count the vulnerabilities of a SARIF log.
pub fn count(bytes: &[u8]) -> Result<VulnerabilityCounts, String> {
    let log: Log =
        serde_json::from_slice(bytes).map_err(|e| format!("the scan report is not SARIF: {e}"))?;
    let mut counts = VulnerabilityCounts::default();
    for run in &log.runs {
        let rules: Vec<&Rule> = run
            .tool
            .iter()
            .flat_map(|t| t.driver.iter().chain(&t.extensions))
            .flat_map(|c| &c.rules)
            .collect();
        let driver_rules: &[Rule] = run
            .tool
            .as_ref()
            .and_then(|t| t.driver.as_ref())
            .map(|d| d.rules.as_slice())
            .unwrap_or(&[]);
        // ruleId → highest severity; results without an id counted directly.
        let mut by_id: BTreeMap<&str, f64> = BTreeMap::new();
        let mut anonymous = Vec::new();
        for r in run.results.iter().flatten() {
            let rule = r.rule_index.and_then(|i| driver_rules.get(i)).or_else(|| {
                let id = r.rule_id.as_deref()?;
                rules.iter().copied().find(|x| x.id.as_deref() == Some(id))
            });
            let sev = severity_of(r.properties.as_ref())
                .or_else(|| rule.and_then(|x| severity_of(x.properties.as_ref())))
                .unwrap_or(0.0);
            match r.rule_id.as_deref() {
                Some(id) => {
                    let e = by_id.entry(id).or_insert(sev);
                    if sev > *e {
                        *e = sev;
                    }
                }
                None => anonymous.push(sev),
            }
        }
        for sev in by_id.into_values().chain(anonymous) {
            let slot = if sev >= 9.0 {
                &mut counts.critical
            } else if sev >= 7.0 {
                &mut counts.high
            } else if sev >= 4.0 {
                &mut counts.medium
            } else {
                &mut counts.low
            };
            *slot += 1;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_from_results_then_rules() {
        let log = serde_json::json!({"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "trivy", "rules": [
            {"id": "CVE-1", "properties": {"security-severity": "9.8"}},
            {"id": "CVE-2", "properties": {"security-severity": "7.5"}},
            {"id": "CVE-3", "properties": {"security-severity": 5.0}},
            {"id": "CVE-4", "properties": {"security-severity": "2.0"}},
            {"id": "CVE-5"}
        ]}, "extensions": [{"name": "x", "rules": [{"id": "EXT-1", "properties": {"security-severity": "9.0"}}]}]},
        "results": [
            {"ruleId": "CVE-1", "ruleIndex": 0},
            {"ruleId": "CVE-1", "ruleIndex": 0},
            {"ruleId": "CVE-2"},
            {"ruleId": "CVE-3", "ruleIndex": 2},
            {"ruleId": "CVE-4", "properties": {"security-severity": "8.1"}},
            {"ruleId": "CVE-5"},
            {"ruleId": "EXT-1"},
            {"message": {"text": "no rule"}, "properties": {"security-severity": "4.0"}}
        ]}]});
        let c = count(&serde_json::to_vec(&log).unwrap()).unwrap();
        // CVE-1 twice (one vulnerability, two locations) and EXT-1: critical; CVE-2 and CVE-4
        // (its result says 8.1 over its rule's 2.0): high; CVE-3 and the anonymous 4.0:
        // medium; CVE-5 (no severity anywhere): low.
        assert_eq!(
            c,
            VulnerabilityCounts {
                critical: 2,
                high: 2,
                medium: 2,
                low: 1
            }
        );
        assert_eq!(
            count(br#"{"runs":[]}"#).unwrap(),
            VulnerabilityCounts::default()
        );
        assert!(count(b"{}").is_err());
        assert!(count(b"<xml/>").is_err());
    }
}
