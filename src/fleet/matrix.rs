//! `fleet matrix`: the GitHub Actions matrix that splits a plan into shards.

use super::args::MatrixArgs;
use super::shard::Shard;
use super::{Kind, out, plan};
use crate::config::Section;

/// `fleet matrix PLAN --shards N`: `{"include":[{"shard":"0/N"},…]}` on stdout, after checking
/// the plan.
pub fn matrix(args: &MatrixArgs, kinds: &'static [Kind], sections: &[Section]) -> u8 {
    match plan::load(&args.plan, kinds, sections) {
        Ok(_) => {
            let include: Vec<serde_json::Value> = (0..args.shards)
                .map(|index| {
                    let shard = Shard {
                        index,
                        count: args.shards,
                    };
                    serde_json::json!({ "shard": shard.to_string() })
                })
                .collect();
            let text = serde_json::json!({ "include": include }).to_string();
            out::stdout(&format!("{text}\n"))
        }
        Err(error) => out::failed(&error),
    }
}
