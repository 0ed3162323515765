//! burn-flex: its tensors are byte buffers with a layout, read in place when contiguous.

use burn::tensor::ops::FloatTensor;
use burn::tensor::{Bytes, DType, Shape};
use burn_flex::{Flex, FlexTensor, Layout};

use crate::backends::host::{self, HostTensors, host_vit_backend};

impl HostTensors for Flex {
    fn read<R>(t: &FloatTensor<Self>, f: impl FnOnce(&[f32]) -> R) -> R {
        match t.as_slice::<f32>() {
            Some(slice) => f(slice),
            None => f(t
                .to_contiguous()
                .as_slice::<f32>()
                .expect("a contiguous f32 tensor is a slice")),
        }
    }

    fn wrap(shape: Shape, data: Vec<f32>, _device: &Self::Device) -> FloatTensor<Self> {
        FlexTensor::new(
            Bytes::from_elems(data),
            Layout::contiguous(shape),
            DType::F32,
        )
    }
}

host_vit_backend!([] Flex);
