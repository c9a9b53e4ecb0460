//! Sharding a plan for engines that already distribute work: `--shard I/N` (or a Kubernetes
//! Indexed Job's `JOB_COMPLETION_INDEX`/`JOB_COMPLETIONS`) and `fleet matrix` for GitHub Actions.

use std::str::FromStr;

use crate::error::Error;

/// Shard `index` of `count`: the targets at positions p with `p % count == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether the target at `position` in the plan is in this shard.
    pub fn holds(self, position: usize) -> bool {
        position % self.count as usize == self.index as usize
    }

    /// `--shard`, else the Indexed Job's variables when both are set.
    pub fn choose(flag: Option<Shard>) -> Result<Option<Shard>, Error> {
        if flag.is_some() {
            return Ok(flag);
        }
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (var("JOB_COMPLETION_INDEX"), var("JOB_COMPLETIONS")) {
            (None, None) => Ok(None),
            (Some(index), Some(count)) => format!("{index}/{count}")
                .parse()
                .map(Some)
                .map_err(|why| {
                    Error::Usage(format!("JOB_COMPLETION_INDEX and JOB_COMPLETIONS: {why}"))
                }),
            (Some(_), None) => Err(Error::Usage(
                "JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not: set both (a Kubernetes Indexed Job: `completions` as an env var) or pass --shard I/N".into(),
            )),
            // JOB_COMPLETIONS alone says nothing about which shard this is.
            (None, Some(_)) => Ok(None),
        }
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?}: expected I/N with 0 <= I < N, e.g. 0/4");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_positions() {
        for count in 1..6u32 {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            for position in 0..40 {
                let holders = shards.iter().filter(|s| s.holds(position)).count();
                assert_eq!(holders, 1, "position {position} of {count} shards");
            }
        }
    }

    #[test]
    fn a_shard_parses_and_refuses_nonsense() {
        assert_eq!("1/3".parse(), Ok(Shard { index: 1, count: 3 }));
        for bad in ["3/3", "0/0", "1", "a/2", "-1/2", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
