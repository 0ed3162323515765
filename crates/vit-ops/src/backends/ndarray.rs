//! burn-ndarray: its tensors are `ndarray` arrays, read in place when in standard layout.

use burn::tensor::Shape;
use burn::tensor::ops::FloatTensor;
use burn_ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArray, NdArrayTensor, QuantElement, SharedArray,
};
use ndarray::{ArcArray, IxDyn};

use crate::backends::host::{self, HostTensors, host_vit_backend};

impl<E, I, Q> HostTensors for NdArray<E, I, Q>
where
    E: FloatNdArrayElement,
    I: IntNdArrayElement,
    Q: QuantElement,
    NdArrayTensor: From<SharedArray<E>> + From<SharedArray<I>>,
{
    fn read<R>(t: &FloatTensor<Self>, f: impl FnOnce(&[f32]) -> R) -> R {
        let NdArrayTensor::F32(storage) = t else {
            unreachable!("the host ops check for f32 before reading")
        };
        let view = storage.view();
        match view.as_slice() {
            Some(slice) => f(slice),
            None => f(view
                .as_standard_layout()
                .as_slice()
                .expect("a standard-layout array is a slice")),
        }
    }

    fn wrap(shape: Shape, data: Vec<f32>, _device: &Self::Device) -> FloatTensor<Self> {
        let array = ArcArray::from_shape_vec(IxDyn(&shape), data)
            .expect("kernel output length equals the shape's element count");
        NdArrayTensor::from(array)
    }
}

host_vit_backend!([E, I, Q] NdArray<E, I, Q> where E: FloatNdArrayElement, I: IntNdArrayElement, Q: QuantElement, NdArrayTensor: From<SharedArray<E>> + From<SharedArray<I>>);
