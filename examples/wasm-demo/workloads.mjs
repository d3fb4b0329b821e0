// The workloads the demo runs, with their arguments: run.mjs prints them with
// their results, and the smoke test (tests/wasm.rs) runs the same functions
// with the same arguments on the host to check the results.
export const WORKLOADS = [
  ["vec_push", "demo_vec_push", [100000], "Vec<u64>: 100,000 pushes"],
  ["string_build", "demo_string_build", [20000], "String: 20,000 numbers written and parsed back"],
  ["btree_churn", "demo_btree_churn", [20000], "BTreeMap<String, u64>: 20,000 inserts, 6,667 removes"],
  ["box_trees", "demo_box_trees", [12, 4], "Box trees: 4 trees of 8,191 nodes built and dropped"],
];
