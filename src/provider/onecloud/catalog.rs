//! Catalogue and account endpoints (docs/1cloud-api.md §2.3): images, data centres, balance.

use serde_json::Value;

use super::wire::{WireDc, WireImage};
use super::{lenient, requests, Client};
use crate::provider::{DcLocation, Image, ImageId, ProviderError, ServerId};

impl Client {
    /// `GET /image`.
    pub async fn images(&self) -> Result<Vec<Image>, ProviderError> {
        let images: Vec<WireImage> = self.get("/image").await?;
        Ok(images.into_iter().map(Image::from).collect())
    }

    /// `POST /image`: a template named `name` of server `server`. If the answer is lost, an
    /// image of that name that appeared (one not in `before`, the IDs of the images of that
    /// name that existed before) is adopted instead of making a second.
    pub async fn create_image(
        &self,
        server: ServerId,
        name: &str,
        before: &[u64],
    ) -> Result<Image, ProviderError> {
        let body = requests::create_image(server, name);
        let image: WireImage = self
            .post_checked("/image", &body, move || async move {
                let now: Vec<WireImage> = self.get("/image").await?;
                Ok(now
                    .into_iter()
                    .filter(|i| i.named(name) && !before.contains(&i.id()))
                    .max_by_key(WireImage::id))
            })
            .await?;
        Ok(image.into())
    }

    /// `DELETE /image/{id}`: one of the account's own templates.
    pub async fn delete_image(&self, id: ImageId) -> Result<(), ProviderError> {
        self.delete(&format!("/image/{id}")).await
    }

    /// `GET /dcLocation`.
    pub async fn dc_locations(&self) -> Result<Vec<DcLocation>, ProviderError> {
        let dcs: Vec<WireDc> = self.get("/dcLocation").await?;
        Ok(dcs.into_iter().map(DcLocation::from).collect())
    }

    /// `GET /customer/balance`: a bare number, a quoted number, or an object with `Balance`.
    pub async fn balance(&self) -> Result<f64, ProviderError> {
        let path = "/customer/balance";
        let value: Value = self.get(path).await?;
        balance_of(&value).ok_or_else(|| ProviderError::Decode {
            method: "GET".to_owned(),
            path: path.to_owned(),
            source: <serde_json::Error as serde::de::Error>::custom(format!(
                "expected a number, got {value}"
            )),
        })
    }
}

/// The balance in an answer of any of the shapes seen (keys already folded by `lenient`).
fn balance_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s
            .trim()
            .trim_matches('"')
            .trim()
            .replace(',', ".")
            .parse()
            .ok(),
        Value::Object(map) => map.get(&lenient::fold("Balance")).and_then(balance_of),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_in_every_shape() {
        for (raw, expected) in [
            ("1234.5", Some(1234.5)),
            (r#""1234.5""#, Some(1234.5)),
            (r#""1234,5""#, Some(1234.5)),
            (r#"{"Balance": "99"}"#, Some(99.0)),
            (r#"{"balance": 7}"#, Some(7.0)),
            ("null", None),
            (r#""lots""#, None),
        ] {
            let value: Value = lenient::from_slice(raw.as_bytes()).unwrap();
            assert_eq!(balance_of(&value), expected, "{raw}");
        }
    }
}
