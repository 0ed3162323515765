//! burn-candle and burn-tch: Burn's own ops (each library has its own fused kernels).

// burn-candle is deprecated upstream in 0.21 but still shipped: supported while it is.
#[cfg(feature = "candle")]
#[allow(deprecated)]
impl<F, I> crate::VitBackend for burn_candle::Candle<F, I>
where
    F: burn_candle::FloatCandleElement,
    I: burn_candle::IntCandleElement,
{
}

#[cfg(feature = "tch")]
impl<E: burn_tch::TchElement> crate::VitBackend for burn_tch::LibTorch<E> {}
