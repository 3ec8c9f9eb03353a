//! "Did you mean": the closest known name to a misspelled one.

/// The candidate closest to `word` by edit distance, if it is close
/// enough to be a typo (at most a third of the word's length wrong, and
/// not the word itself).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_strangers_find_nothing() {
        let keys = ["from_ros", "to_ros", "service_clients", "liveness"];
        assert_eq!(did_you_mean("form_ros", keys), Some("from_ros"));
        assert_eq!(did_you_mean("to_rso", keys), Some("to_ros"));
        assert_eq!(did_you_mean("livenes", keys), Some("liveness"));
        assert_eq!(did_you_mean("camera", keys), None);
        assert_eq!(
            did_you_mean(
                "sensor_msgs/msg/Imgae",
                ["sensor_msgs/msg/Image", "sensor_msgs/msg/Imu"]
            ),
            Some("sensor_msgs/msg/Image")
        );
    }
}
