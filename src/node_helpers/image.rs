//! `sensor_msgs/msg/Image` rows as a borrowed view (dimensions, encoding,
//! the pixel bytes in place) and images built from bytes, for Rust dora
//! nodes.
//!
//! ```no_run
//! # use arrow::array::{AsArray, StructArray};
//! # fn handle(value: &dyn arrow::array::Array) -> Result<(), ros2_dora_bridge::node_helpers::image::ImageError> {
//! use ros2_dora_bridge::node_helpers::image::{ImageView, image_message};
//! let image = ImageView::from_row(value.as_struct(), 0)?;
//! let inverted: Vec<u8> = image.data.iter().map(|p| 255 - p).collect();
//! let reply = image_message(image.header(), image.width, image.height, image.encoding, inverted)?;
//! # Ok(()) }
//! ```

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, Int32Array, StringArray, StructArray, UInt8Array,
    UInt32Array,
};
use arrow::datatypes::{DataType, Field, UInt8Type};
use std::sync::Arc;

/// Why an image row could not be read or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("image: {0}")]
pub struct ImageError(String);

/// `std_msgs/Header` of an image: stamp seconds, nanoseconds, frame id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header<'a> {
    pub sec: i32,
    pub nanosec: u32,
    pub frame_id: &'a str,
}

/// One Image row, borrowed from its array: `data` is the message's own
/// bytes (no copy), `step` bytes per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageView<'a> {
    pub sec: i32,
    pub nanosec: u32,
    pub frame_id: &'a str,
    pub height: u32,
    pub width: u32,
    pub encoding: &'a str,
    pub is_bigendian: bool,
    pub step: u32,
    pub data: &'a [u8],
}

/// Bytes per pixel of a sensor_msgs image encoding, when it has a packed
/// layout (`rgb8` 3, `mono16` 2, `32FC1` 4, `yuv422` 2, `bayer_*8` 1).
pub fn bytes_per_pixel(encoding: &str) -> Option<usize> {
    let named = match encoding {
        "mono8" => Some(1),
        "mono16" | "yuv422" | "uyvy" | "yuyv" | "yuv422_yuy2" => Some(2),
        "rgb8" | "bgr8" => Some(3),
        "rgba8" | "bgra8" => Some(4),
        "rgb16" | "bgr16" => Some(6),
        "rgba16" | "bgra16" => Some(8),
        e if e.starts_with("bayer_") && e.ends_with("16") => Some(2),
        e if e.starts_with("bayer_") && e.ends_with('8') => Some(1),
        _ => None,
    };
    named.or_else(|| cv_bytes_per_pixel(encoding))
}

/// `8UC3`, `32FC1`, `16SC2`...: element bits, kind, channels.
fn cv_bytes_per_pixel(encoding: &str) -> Option<usize> {
    let kind_at = encoding.find(['U', 'S', 'F'])?;
    let bits: usize = encoding[..kind_at].parse().ok()?;
    let rest = encoding[kind_at + 1..].strip_prefix('C')?;
    let channels: usize = if rest.is_empty() {
        1
    } else {
        rest.parse().ok()?
    };
    matches!(bits, 8 | 16 | 32 | 64).then_some(bits / 8 * channels)
}

impl<'a> ImageView<'a> {
    /// Row `row` of an Image `StructArray` (`data` as List<UInt8> or Binary).
    /// Checks that `data` holds `height` rows of `step` bytes.
    pub fn from_row(image: &'a StructArray, row: usize) -> Result<Self, ImageError> {
        if row >= image.len() {
            return Err(ImageError(format!("row {row} of {}", image.len())));
        }
        let header = column(image, "header")?
            .as_struct_opt()
            .ok_or_else(|| wrong("header"))?;
        let stamp = column(header, "stamp")?
            .as_struct_opt()
            .ok_or_else(|| wrong("header.stamp"))?;
        let view = ImageView {
            sec: primitive::<Int32Array>(stamp, "sec")?.value(row),
            nanosec: primitive::<UInt32Array>(stamp, "nanosec")?.value(row),
            frame_id: primitive::<StringArray>(header, "frame_id")?.value(row),
            height: primitive::<UInt32Array>(image, "height")?.value(row),
            width: primitive::<UInt32Array>(image, "width")?.value(row),
            encoding: primitive::<StringArray>(image, "encoding")?.value(row),
            is_bigendian: primitive::<UInt8Array>(image, "is_bigendian")?.value(row) != 0,
            step: primitive::<UInt32Array>(image, "step")?.value(row),
            data: bytes(column(image, "data")?, row)?,
        };
        let needed = view.height as usize * view.step as usize;
        if view.data.len() < needed {
            return Err(ImageError(format!(
                "{}x{} with step {} needs {needed} bytes, data has {}",
                view.height,
                view.width,
                view.step,
                view.data.len()
            )));
        }
        Ok(view)
    }

    pub fn header(&self) -> Header<'a> {
        Header {
            sec: self.sec,
            nanosec: self.nanosec,
            frame_id: self.frame_id,
        }
    }

    /// Row `y`'s pixels, without the `step` padding (None past the last row
    /// or for an encoding without a packed layout).
    pub fn row_pixels(&self, y: u32) -> Option<&'a [u8]> {
        let row_bytes = bytes_per_pixel(self.encoding)? * self.width as usize;
        let start = y as usize * self.step as usize;
        (y < self.height && row_bytes <= self.step as usize)
            .then(|| &self.data[start..start + row_bytes])
    }
}

/// A one-row Image (`data` as Binary, which the bridge takes as well as
/// List<UInt8>): `step` = width x pixel size, so `data` must hold exactly
/// `height` packed rows.
pub fn image_message(
    header: Header<'_>,
    width: u32,
    height: u32,
    encoding: &str,
    data: Vec<u8>,
) -> Result<StructArray, ImageError> {
    let pixel = bytes_per_pixel(encoding)
        .ok_or_else(|| ImageError(format!("encoding `{encoding}` has no packed layout")))?;
    let step = width as usize * pixel;
    if data.len() != step * height as usize {
        return Err(ImageError(format!(
            "{height}x{width} {encoding} is {} bytes, got {}",
            step * height as usize,
            data.len()
        )));
    }
    let stamp = StructArray::from(vec![
        field("sec", Arc::new(Int32Array::from(vec![header.sec]))),
        field("nanosec", Arc::new(UInt32Array::from(vec![header.nanosec]))),
    ]);
    let header = StructArray::from(vec![
        field("stamp", Arc::new(stamp)),
        field(
            "frame_id",
            Arc::new(StringArray::from(vec![header.frame_id])),
        ),
    ]);
    let big_endian = cfg!(target_endian = "big") && pixel > 1;
    Ok(StructArray::from(vec![
        field("header", Arc::new(header)),
        field("height", Arc::new(UInt32Array::from(vec![height]))),
        field("width", Arc::new(UInt32Array::from(vec![width]))),
        field("encoding", Arc::new(StringArray::from(vec![encoding]))),
        field(
            "is_bigendian",
            Arc::new(UInt8Array::from(vec![big_endian as u8])),
        ),
        field("step", Arc::new(UInt32Array::from(vec![step as u32]))),
        field(
            "data",
            Arc::new(BinaryArray::from_vec(vec![data.as_slice()])),
        ),
    ]))
}

fn field(name: &str, array: ArrayRef) -> (Arc<Field>, ArrayRef) {
    (
        Arc::new(Field::new(name, array.data_type().clone(), false)),
        array,
    )
}

fn wrong(path: &str) -> ImageError {
    ImageError(format!(
        "`{path}` is not in the sensor_msgs/msg/Image layout"
    ))
}

fn column<'s>(array: &'s StructArray, name: &str) -> Result<&'s ArrayRef, ImageError> {
    array.column_by_name(name).ok_or_else(|| {
        let fields: Vec<&str> = array.fields().iter().map(|f| f.name().as_str()).collect();
        ImageError(format!("no field `{name}` (fields: {})", fields.join(", ")))
    })
}

fn primitive<'s, T: Array + 'static>(
    array: &'s StructArray,
    name: &str,
) -> Result<&'s T, ImageError> {
    column(array, name)?
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| wrong(name))
}

fn bytes(data: &ArrayRef, row: usize) -> Result<&[u8], ImageError> {
    match data.data_type() {
        DataType::Binary => Ok(data.as_binary::<i32>().value(row)),
        DataType::LargeBinary => Ok(data.as_binary::<i64>().value(row)),
        DataType::List(_) => {
            let list = data.as_list::<i32>();
            let offsets = list.value_offsets();
            let values = list
                .values()
                .as_primitive_opt::<UInt8Type>()
                .ok_or_else(|| wrong("data"))?;
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            Ok(&values.values()[start..end])
        }
        _ => Err(wrong("data")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::ListArray;
    use arrow::buffer::OffsetBuffer;

    fn header() -> Header<'static> {
        Header {
            sec: 3,
            nanosec: 4,
            frame_id: "cam",
        }
    }

    #[test]
    fn made_images_read_back_in_place() {
        let pixels: Vec<u8> = (0..2 * 3 * 3).collect();
        let image = image_message(header(), 3, 2, "rgb8", pixels.clone()).unwrap();
        let view = ImageView::from_row(&image, 0).unwrap();
        assert_eq!((view.width, view.height, view.step), (3, 2, 9));
        assert_eq!(view.header(), header());
        assert_eq!(view.data, pixels.as_slice());
        assert_eq!(view.row_pixels(1), Some(&pixels[9..18]));
        assert_eq!(view.row_pixels(2), None);
    }

    /// The bridge's own layout (List<UInt8>), with `step` padding.
    #[test]
    fn list_data_with_padding() {
        let made = image_message(header(), 2, 2, "mono8", vec![1, 2, 3, 4]).unwrap();
        let padded = UInt8Array::from(vec![1, 2, 0, 3, 4, 0]);
        let item = Arc::new(Field::new("item", DataType::UInt8, false));
        let data = ListArray::new(
            item,
            OffsetBuffer::from_lengths([6]),
            Arc::new(padded),
            None,
        );
        let mut columns = made.columns().to_vec();
        columns[5] = Arc::new(UInt32Array::from(vec![3]));
        columns[6] = Arc::new(data);
        let fields: Vec<Field> = made
            .fields()
            .iter()
            .zip(&columns)
            .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), false))
            .collect();
        let image = StructArray::new(fields.into(), columns, None);
        let view = ImageView::from_row(&image, 0).unwrap();
        assert_eq!(view.row_pixels(0), Some(&[1u8, 2][..]));
        assert_eq!(view.row_pixels(1), Some(&[3u8, 4][..]));
    }

    #[test]
    fn bad_images_are_errors() {
        assert!(image_message(header(), 3, 2, "rgb8", vec![0; 17]).is_err());
        assert!(image_message(header(), 1, 1, "nv12", vec![0]).is_err());
        assert_eq!(bytes_per_pixel("32FC3"), Some(12));
        assert_eq!(bytes_per_pixel("16UC1"), Some(2));
        assert_eq!(bytes_per_pixel("bayer_rggb16"), Some(2));
        assert_eq!(bytes_per_pixel("8XC1"), None);
        let twist = StructArray::from(vec![field("x", Arc::new(Int32Array::from(vec![1])))]);
        let error = ImageView::from_row(&twist, 0).unwrap_err();
        assert!(error.to_string().contains("no field `header`"), "{error}");
    }
}
