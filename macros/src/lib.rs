//! Derive macros for ringbolt: `FromRow` and `SerializeRow` (struct <-> row, by column
//! or bind-marker name) and `FromUserType` / `SerializeUserType` (struct <-> UDT value,
//! by field name). Generated code names the runtime crate as `::ringbolt`, so users
//! must depend on it under that name. No runtime logic lives here.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{parse_macro_input, Data, DeriveInput, Fields, GenericParam, Ident, LitStr, Type};

/// Reads a struct from a result row, matching fields to columns by name.
///
/// Every field needs a column of its name (`#[ringbolt(rename = "col")]` to use
/// another name); extra columns are ignored. Types are checked once per result.
#[proc_macro_derive(FromRow, attributes(ringbolt))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    expand(parse_macro_input!(input as DeriveInput), from_row)
}

/// Binds a struct's fields to a statement's bind markers by name (prepared
/// statements), or in declaration order with natural types (unprepared queries).
#[proc_macro_derive(SerializeRow, attributes(ringbolt))]
pub fn derive_serialize_row(input: TokenStream) -> TokenStream {
    expand(parse_macro_input!(input as DeriveInput), serialize_row)
}

/// Reads a struct from a user-defined type value, matching fields by name; a field
/// missing from the end of the value reads as null (so use `Option` for it).
#[proc_macro_derive(FromUserType, attributes(ringbolt))]
pub fn derive_from_user_type(input: TokenStream) -> TokenStream {
    expand(parse_macro_input!(input as DeriveInput), from_udt)
}

/// Writes a struct as a user-defined type value, in the UDT's field order, by name;
/// UDT fields the struct lacks are written as null.
#[proc_macro_derive(SerializeUserType, attributes(ringbolt))]
pub fn derive_serialize_user_type(input: TokenStream) -> TokenStream {
    expand(parse_macro_input!(input as DeriveInput), serialize_udt)
}

fn expand(input: DeriveInput, f: fn(&DeriveInput, &[Field]) -> syn::Result<Tokens>) -> TokenStream {
    fields(&input)
        .and_then(|fs| f(&input, &fs))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A named struct field and the CQL name it maps to.
struct Field {
    ident: Ident,
    ty: Type,
    name: String,
}

fn fields(input: &DeriveInput) -> syn::Result<Vec<Field>> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "ringbolt derives support structs only",
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &data.fields,
            "ringbolt derives need a struct with named fields",
        ));
    };
    let mut out: Vec<Field> = Vec::new();
    for f in &named.named {
        let Some(ident) = f.ident.clone() else {
            return Err(syn::Error::new_spanned(f, "field without a name"));
        };
        let mut name = ident.to_string().trim_start_matches("r#").to_owned();
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("ringbolt")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    let lit: LitStr = meta.value()?.parse()?;
                    name = lit.value();
                    Ok(())
                } else {
                    Err(meta.error("unknown ringbolt attribute (expected `rename = \"...\"`)"))
                }
            })?;
        }
        if out.iter().any(|o| o.name == name) {
            return Err(syn::Error::new_spanned(
                f,
                format!("two fields map to the CQL name \"{name}\""),
            ));
        }
        out.push(Field {
            ident,
            ty: f.ty.clone(),
            name,
        });
    }
    Ok(out)
}

/// The lifetime values borrow from: the struct's own lifetime if it has one (so
/// `&'a str` fields borrow from the frame), else a fresh `'frame`.
fn frame_lifetime(input: &DeriveInput) -> syn::Result<(Tokens, Tokens)> {
    let mut lifetimes = Vec::new();
    for p in &input.generics.params {
        match p {
            GenericParam::Lifetime(l) => lifetimes.push(l.lifetime.clone()),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "reading derives support no type or const parameters",
                ))
            }
        }
    }
    match lifetimes.as_slice() {
        [] => Ok((quote!('frame), quote!(<'frame>))),
        [l] => Ok((quote!(#l), quote!(<#l>))),
        [_, extra, ..] => Err(syn::Error::new_spanned(
            extra,
            "at most one lifetime is supported",
        )),
    }
}

/// The local holding a field's value while a row or UDT is read: prefixed, so that a
/// field named like a local of the generated code (`row`, `col`, `t`, `v`, `buf`...)
/// cannot shadow it.
fn slot(field: &Ident) -> Ident {
    format_ident!("__ringbolt_field_{}", field.unraw())
}

fn from_row(input: &DeriveInput, fields: &[Field]) -> syn::Result<Tokens> {
    let (lt, impl_generics) = frame_lifetime(input)?;
    let ident = &input.ident;
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let rb = quote!(::ringbolt);
    let checks = fields.iter().map(|f| {
        let (ty, name) = (&f.ty, &f.name);
        quote! {
            match columns.iter().position(|c| c.name == #name) {
                Some(i) => <#ty as #rb::DeserializeValue<#lt>>::type_check(&columns[i].typ)
                    .map_err(|e| e.at_column(i, &columns[i].name))?,
                None => return Err(#rb::DeserializationError::row::<Self>(
                    #rb::DeserializationErrorKind::NoSuchColumn { name: #name.into() },
                )),
            }
        }
    });
    let slots = fields.iter().map(|f| {
        let (id, ty) = (slot(&f.ident), &f.ty);
        quote!(let mut #id: ::core::option::Option<#ty> = None;)
    });
    let arms = fields.iter().map(|f| {
        let (id, ty, name) = (slot(&f.ident), &f.ty, &f.name);
        quote!(#name if #id.is_none() => #id = Some(col.deserialize::<#ty>()?),)
    });
    let inits = fields.iter().map(|f| {
        let (id, s, name) = (&f.ident, slot(&f.ident), &f.name);
        quote! {
            #id: match #s {
                Some(v) => v,
                None => return Err(#rb::DeserializationError::row::<Self>(
                    #rb::DeserializationErrorKind::NoSuchColumn { name: #name.into() },
                )),
            },
        }
    });
    Ok(quote! {
        impl #impl_generics #rb::DeserializeRow<#lt> for #ident #ty_generics {
            fn type_check(columns: &[#rb::ColumnSpec]) -> ::core::result::Result<(), #rb::DeserializationError> {
                #(#checks)*
                Ok(())
            }

            fn deserialize(
                row: &mut #rb::ColumnIterator<#lt>,
            ) -> ::core::result::Result<Self, #rb::DeserializationError> {
                #(#slots)*
                for col in &mut *row {
                    let col = col?;
                    match col.spec.name.as_str() {
                        #(#arms)*
                        _ => {}
                    }
                }
                Ok(Self { #(#inits)* })
            }
        }
    })
}

fn serialize_row(input: &DeriveInput, fields: &[Field]) -> syn::Result<Tokens> {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let rb = quote!(::ringbolt);
    let n = fields.len();
    let arms = fields.iter().map(|f| {
        let (id, name) = (&f.ident, &f.name);
        quote!(#name => #rb::__private::write_row_value(&self.#id, i, Some(spec), out)?,)
    });
    let used = fields.iter().map(|f| {
        let name = &f.name;
        quote! {
            if !m.iter().any(|s| s.name == #name) {
                return Err(#rb::SerializationError::row::<Self>(
                    #rb::SerializationErrorKind::UnknownName { name: #name.into() },
                ));
            }
        }
    });
    let positional = fields.iter().enumerate().map(|(i, f)| {
        let id = &f.ident;
        quote!(#rb::__private::write_row_value(&self.#id, #i, None, out)?;)
    });
    Ok(quote! {
        impl #impl_generics #rb::SerializeRow for #ident #ty_generics #where_clause {
            fn serialize_row(
                &self,
                markers: ::core::option::Option<&[#rb::ColumnSpec]>,
                out: &mut #rb::__private::BytesMut,
            ) -> ::core::result::Result<usize, #rb::SerializationError> {
                let at = out.len();
                let mut write = |out: &mut #rb::__private::BytesMut| match markers {
                    Some(m) => {
                        #(#used)*
                        for (i, spec) in m.iter().enumerate() {
                            match spec.name.as_str() {
                                #(#arms)*
                                other => return Err(#rb::SerializationError::row::<Self>(
                                    #rb::SerializationErrorKind::MissingNamedValue { name: other.into() },
                                ).at_column(i, Some(other))),
                            }
                        }
                        Ok(m.len())
                    }
                    None => {
                        #(#positional)*
                        Ok(#n)
                    }
                };
                let r = write(out);
                if r.is_err() {
                    out.truncate(at);
                }
                r
            }

            fn is_empty(&self) -> bool {
                #n == 0
            }
        }
    })
}

fn from_udt(input: &DeriveInput, fields: &[Field]) -> syn::Result<Tokens> {
    let (lt, impl_generics) = frame_lifetime(input)?;
    let ident = &input.ident;
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let rb = quote!(::ringbolt);
    let checks = fields.iter().map(|f| {
        let (ty, name) = (&f.ty, &f.name);
        quote! {
            match udt.fields.iter().find(|(n, _)| n == #name) {
                Some((_, t)) => <#ty as #rb::DeserializeValue<#lt>>::type_check(t)?,
                None => return Err(#rb::DeserializationError::new::<Self>(
                    typ,
                    #rb::DeserializationErrorKind::NoSuchUdtField { field: #name.into() },
                )),
            }
        }
    });
    let slots = fields.iter().map(|f| {
        let (id, ty) = (slot(&f.ident), &f.ty);
        quote!(let mut #id: ::core::option::Option<#ty> = None;)
    });
    let arms = fields.iter().map(|f| {
        let (id, ty, name) = (slot(&f.ident), &f.ty, &f.name);
        quote!(#name if #id.is_none() => #id = Some(<#ty as #rb::DeserializeValue<#lt>>::deserialize(t, cell)?),)
    });
    let inits = fields.iter().map(|f| {
        let (id, s, name) = (&f.ident, slot(&f.ident), &f.name);
        quote! {
            #id: match #s {
                Some(v) => v,
                None => return Err(#rb::DeserializationError::new::<Self>(
                    typ,
                    #rb::DeserializationErrorKind::NoSuchUdtField { field: #name.into() },
                )),
            },
        }
    });
    Ok(quote! {
        impl #impl_generics #rb::DeserializeValue<#lt> for #ident #ty_generics {
            fn type_check(typ: &#rb::ColumnType) -> ::core::result::Result<(), #rb::DeserializationError> {
                let #rb::ColumnType::Udt(udt) = typ else {
                    return Err(#rb::DeserializationError::mismatch::<Self>(typ));
                };
                #(#checks)*
                Ok(())
            }

            fn deserialize(
                typ: &#rb::ColumnType,
                v: ::core::option::Option<#rb::FrameSlice<#lt>>,
            ) -> ::core::result::Result<Self, #rb::DeserializationError> {
                let #rb::ColumnType::Udt(udt) = typ else {
                    return Err(#rb::DeserializationError::mismatch::<Self>(typ));
                };
                let Some(v) = v else {
                    return Err(#rb::DeserializationError::new::<Self>(
                        typ,
                        #rb::DeserializationErrorKind::UnexpectedNull,
                    ));
                };
                let mut buf = v.as_slice();
                #(#slots)*
                for (name, t) in &udt.fields {
                    let cell = #rb::__private::read_field::<Self>(typ, v, &mut buf)?;
                    match name.as_str() {
                        #(#arms)*
                        _ => {}
                    }
                }
                #rb::__private::no_trailing::<Self>(typ, buf)?;
                Ok(Self { #(#inits)* })
            }
        }
    })
}

fn serialize_udt(input: &DeriveInput, fields: &[Field]) -> syn::Result<Tokens> {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let rb = quote!(::ringbolt);
    let udt_name = ident.to_string();
    let natural = fields.iter().map(|f| {
        let (id, name) = (&f.ident, &f.name);
        quote! {
            (
                ::std::string::String::from(#name),
                #rb::SerializeValue::natural_type(&self.#id).unwrap_or(#rb::ColumnType::Blob),
            )
        }
    });
    let known = fields.iter().map(|f| {
        let name = &f.name;
        quote! {
            if !udt.fields.iter().any(|(n, _)| n == #name) {
                return Err(#rb::SerializationError::new::<Self>(
                    typ,
                    #rb::SerializationErrorKind::UnknownUdtField { field: #name.into() },
                ));
            }
        }
    });
    let arms = fields.iter().map(|f| {
        let (id, name) = (&f.ident, &f.name);
        quote!(#name => #rb::__private::write_field(&self.#id, t, out)?,)
    });
    Ok(quote! {
        impl #impl_generics #rb::SerializeValue for #ident #ty_generics #where_clause {
            fn natural_type(&self) -> ::core::option::Option<#rb::ColumnType> {
                Some(#rb::ColumnType::Udt(#rb::UdtType {
                    keyspace: ::std::string::String::new(),
                    name: ::std::string::String::from(#udt_name),
                    fields: ::std::vec![#(#natural),*],
                }))
            }

            fn serialize(
                &self,
                typ: &#rb::ColumnType,
                out: &mut #rb::__private::BytesMut,
            ) -> ::core::result::Result<#rb::Written, #rb::SerializationError> {
                let #rb::ColumnType::Udt(udt) = typ else {
                    return Err(#rb::SerializationError::mismatch::<Self>(typ));
                };
                #(#known)*
                for (name, t) in &udt.fields {
                    match name.as_str() {
                        #(#arms)*
                        _ => #rb::__private::write_null(out),
                    }
                }
                Ok(#rb::Written::Value)
            }
        }
    })
}
